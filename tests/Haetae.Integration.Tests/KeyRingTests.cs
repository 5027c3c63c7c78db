using System.Security.Cryptography;
using Haetae.Contracts;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;
using Haetae.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.JetStream;

namespace Haetae.Integration.Tests;

/// <summary>The one key ring against real servers, on a platform whose bucket still holds the keys of before.</summary>
public sealed class KeyRingTests
{
    private sealed record EarlierApiKey(string Kid, string Algorithm, string Pkcs8, DateTimeOffset CreatedAt);

    [Fact]
    public async Task The_first_ring_keeps_the_login_keys_and_the_api_keys_of_before_so_their_tokens_stay_valid()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: false, cancellationToken: ct);
        await using var connection = await cluster.ConnectAsync();
        var buckets = new Buckets(new NatsJSContext(connection));
        var bucket = await buckets.GetAsync(Assets.SigningKeysBucket);

        // What the bucket held before: the login provider's set, and the API's own key with its pointer.
        var now = DateTimeOffset.UtcNow;
        string Pkcs8()
        {
            using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return Convert.ToBase64String(ecdsa.ExportPkcs8PrivateKey());
        }

        await bucket.PutAsync(new Key<KeySet>("login-keys"), new KeySet([
            new RingKey("login1", KeyUse.Signing, Pkcs8(), now.AddDays(-3), now.AddDays(-3)),
            new RingKey("enc1", KeyUse.Encryption, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), now.AddDays(-3), now.AddDays(-3))]), ct);
        await bucket.PutAsync(new Key<EarlierApiKey>("key.api1"), new EarlierApiKey("api1", "ES256", Pkcs8(), now.AddDays(-5)), ct);
        await bucket.PutAsync(new Key<string>("current"), "api1", ct);

        using var ring = new KeyRing(buckets, Options.Create(new KeyRingOptions()), TimeProvider.System, NullLogger<KeyRing>.Instance);
        await ring.StartAsync(ct);
        var signing = await ring.SigningAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        await ring.StopAsync(ct);

        // The newest key of before signs; both still validate; the encryption key is kept.
        Assert.Equal("login1", signing.Kid);
        Assert.Single(ring.Resolve("login1"));
        Assert.Single(ring.Resolve("api1"));
        Assert.Empty(ring.Resolve("stranger"));
        Assert.Equal(["enc1"], ring.Current!.Encryption.Select(c => c.Key.KeyId));
        var stored = await bucket.TryGetAsync<KeySet>(KeyRing.EntryKey, ct);
        Assert.Equal(["api1", "enc1", "login1"], stored!.Value.Keys.Select(k => k.Kid).Order());
    }
}
