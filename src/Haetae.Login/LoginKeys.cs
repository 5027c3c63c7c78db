using System.Security.Cryptography;
using System.Xml.Linq;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace Haetae.Login;

/// <summary>What a login key is for: signing tokens (published in the JWKS) or encrypting codes and refresh tokens (never published).</summary>
internal enum KeyUse
{
    Signing,
    Encryption,
}

/// <summary>
/// One login key. <paramref name="UsedFrom"/> is when it starts signing (or encrypting): a signing key
/// is published in the JWKS from <paramref name="CreatedAt"/>, ahead of that, so that relying parties
/// have it before they meet a token it signed.
/// </summary>
internal sealed record LoginKey(string Kid, KeyUse Use, string Material, DateTimeOffset CreatedAt, DateTimeOffset UsedFrom);

/// <summary>Every login key, in one bucket entry, so that a rotation is one compare-and-set.</summary>
internal sealed record LoginKeySet(IReadOnlyList<LoginKey> Keys);

/// <summary>When keys rotate. Defaults: a new key every 30 days, published 1 day before it signs, kept 15 days after it stops.</summary>
internal sealed record KeyRotationPolicy(TimeSpan RotateEvery, TimeSpan PublishAhead, TimeSpan KeepAfterRetired)
{
    public static KeyRotationPolicy Default { get; } = new(TimeSpan.FromDays(30), TimeSpan.FromDays(1), TimeSpan.FromDays(15));

    public void Validate()
    {
        if (PublishAhead <= TimeSpan.Zero || RotateEvery <= PublishAhead || KeepAfterRetired <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("Login key rotation needs 0 < PublishAhead < RotateEvery and KeepAfterRetired > 0.");
        }
    }
}

/// <summary>The rotation rules as plain functions over the key set: which keys exist, and in what order they are used.</summary>
internal static class KeyRotation
{
    /// <summary>
    /// The key set as it should be at <paramref name="now"/>: a first key when there is none; a next key
    /// created <see cref="KeyRotationPolicy.PublishAhead"/> before the current one has served
    /// <see cref="KeyRotationPolicy.RotateEvery"/>; keys dropped <see cref="KeyRotationPolicy.KeepAfterRetired"/>
    /// after a newer key took over, when no token they protected can still be valid.
    /// </summary>
    public static LoginKeySet Rotate(LoginKeySet set, DateTimeOffset now, KeyRotationPolicy policy, Func<KeyUse, (string Kid, string Material)> newKey)
    {
        var keys = set.Keys.ToList();
        foreach (var use in Enum.GetValues<KeyUse>())
        {
            var mine = keys.Where(k => k.Use == use).OrderBy(k => k.UsedFrom).ToList();
            var current = mine.LastOrDefault(k => k.UsedFrom <= now);
            var pending = mine.Any(k => k.UsedFrom > now);
            if (current is null && !pending)
            {
                var (kid, material) = newKey(use);
                keys.Add(new LoginKey(kid, use, material, now, now));
            }
            else if (current is not null && !pending && now >= current.UsedFrom + policy.RotateEvery - policy.PublishAhead)
            {
                var (kid, material) = newKey(use);
                keys.Add(new LoginKey(kid, use, material, now, now + policy.PublishAhead));
            }

            for (var i = 0; i < mine.Count - 1; i++)
            {
                var supersededAt = mine[i + 1].UsedFrom;
                if (supersededAt <= now && now >= supersededAt + policy.KeepAfterRetired)
                {
                    keys.Remove(mine[i]);
                }
            }
        }

        return keys.Count == set.Keys.Count && keys.All(set.Keys.Contains) ? set : new LoginKeySet(keys);
    }

    /// <summary>
    /// The keys of one use in the order OpenIddict takes them: the one in use first (it signs or
    /// encrypts), then the published next key, then older keys, newest first (they still validate).
    /// </summary>
    public static IReadOnlyList<LoginKey> InUseOrder(LoginKeySet set, KeyUse use, DateTimeOffset now)
    {
        var mine = set.Keys.Where(k => k.Use == use).ToList();
        var current = mine.Where(k => k.UsedFrom <= now).MaxBy(k => k.UsedFrom);
        return current is null
            ? []
            : [current, .. mine.Where(k => k.UsedFrom > now).OrderBy(k => k.UsedFrom), .. mine.Where(k => k.UsedFrom <= now && k != current).OrderByDescending(k => k.UsedFrom)];
    }

    /// <summary>When the order changes next by itself (a pending key starts signing), if ever.</summary>
    public static DateTimeOffset? NextChange(LoginKeySet set, DateTimeOffset now)
    {
        var times = set.Keys.Where(k => k.UsedFrom > now).Select(k => k.UsedFrom).ToList();
        return times.Count == 0 ? null : times.Min();
    }
}

/// <summary>
/// The login provider's signing and encryption keys, the same at every site: they live in one entry of
/// the replicated signing-keys bucket, rotated by compare-and-set (whichever node gets there first
/// rotates; the others read its result). Every node re-reads the entry from the bucket's leader every few
/// seconds and, when the keys or their order change, tells OpenIddict to rebuild its options, which take
/// the keys from here (<see cref="Configure"/>). A node that has not loaded the keys yet serves no login.
/// </summary>
internal sealed partial class LoginKeyRing(Buckets buckets, KeyRotationPolicy policy, TimeProvider time, ILogger<LoginKeyRing> logger)
    : BackgroundService, IConfigureOptions<OpenIddictServerOptions>, IOptionsChangeTokenSource<OpenIddictServerOptions>
{
    public const string EntryKey = "login-keys";
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, SecurityKey> _imported = [];
    private CancellationTokenSource _changed = new();
    private volatile Snapshot? _snapshot;

    private sealed record Snapshot(IReadOnlyList<SigningCredentials> Signing, IReadOnlyList<EncryptingCredentials> Encryption, string Order);

    public bool IsLoaded => _snapshot is not null;

    public string Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => new CancellationChangeToken(_changed.Token);

    public void Configure(OpenIddictServerOptions options)
    {
        if (_snapshot is { } snapshot)
        {
            options.SigningCredentials.AddRange(snapshot.Signing);
            options.EncryptionCredentials.AddRange(snapshot.Encryption);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Poll;
            try
            {
                var set = await RotateAsync(stoppingToken);
                var now = time.GetUtcNow();
                Apply(set, now);
                if (KeyRotation.NextChange(set, now) is { } next && next - now < wait)
                {
                    wait = next - now + TimeSpan.FromMilliseconds(10);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // An election, most likely: keep the keys we have and ask again shortly.
                LogReadFailed(e.Message);
                wait = TimeSpan.FromMilliseconds(500);
            }

            await Task.Delay(wait, time, stoppingToken);
        }
    }

    private async Task<LoginKeySet> RotateAsync(CancellationToken cancellationToken)
    {
        var bucket = await buckets.GetAsync(Assets.SigningKeysBucket);
        // Another node that rotated first wins the compare-and-set: read again and take its keys.
        var rotated = await StoreRetry.Conflicts<LoginKeySet>(10).ExecuteAsync(async ct =>
        {
            var stored = await bucket.GetFromLeaderAsync<LoginKeySet>(EntryKey, ct);
            var current = stored?.Value ?? new LoginKeySet([]);
            var next = KeyRotation.Rotate(current, time.GetUtcNow(), policy, NewKey);
            if (ReferenceEquals(next, current))
            {
                return Conflicted<LoginKeySet>.Done(current);
            }

            var written = stored is null
                ? await bucket.CreateAsync(EntryKey, next, ct)
                : await bucket.ReplaceAsync(EntryKey, next, stored.Revision, ct);
            if (written is null)
            {
                return Conflicted<LoginKeySet>.Lost;
            }

            LogRotated(string.Join(", ", next.Keys.Select(k => $"{k.Use} {k.Kid} from {k.UsedFrom:u}")));
            return Conflicted<LoginKeySet>.Done(next);
        }, cancellationToken);
        return rotated.Conflict ? throw new InvalidOperationException("the login keys kept changing under this node; it asks again shortly") : rotated.Value;
    }

    private void Apply(LoginKeySet set, DateTimeOffset now)
    {
        var signing = KeyRotation.InUseOrder(set, KeyUse.Signing, now);
        var encryption = KeyRotation.InUseOrder(set, KeyUse.Encryption, now);
        var order = string.Join(",", signing.Concat(encryption).Select(k => k.Kid));
        if (_snapshot?.Order == order)
        {
            return;
        }

        _snapshot = new Snapshot(
            [.. signing.Select(k => new SigningCredentials(Import(k), SecurityAlgorithms.EcdsaSha256))],
            [.. encryption.Select(k => new EncryptingCredentials(Import(k), SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512))],
            order);
        LogKeysInUse(signing[0].Kid, signing.Count);
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }

    private SecurityKey Import(LoginKey key)
    {
        lock (_imported)
        {
            if (!_imported.TryGetValue(key.Kid, out var imported))
            {
                if (key.Use == KeyUse.Signing)
                {
                    var ecdsa = ECDsa.Create();
                    ecdsa.ImportPkcs8PrivateKey(Convert.FromBase64String(key.Material), out _);
                    imported = new ECDsaSecurityKey(ecdsa) { KeyId = key.Kid };
                }
                else
                {
                    imported = new SymmetricSecurityKey(Convert.FromBase64String(key.Material)) { KeyId = key.Kid };
                }

                _imported[key.Kid] = imported;
            }

            return imported;
        }
    }

    private static (string Kid, string Material) NewKey(KeyUse use)
    {
        var kid = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        if (use == KeyUse.Encryption)
        {
            return (kid, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        }

        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (kid, Convert.ToBase64String(ecdsa.ExportPkcs8PrivateKey()));
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Login keys rotated: {Keys}")]
    private partial void LogRotated(string keys);

    [LoggerMessage(Level = LogLevel.Information, Message = "Login tokens are now signed with key {Kid} ({Count} signing keys published)")]
    private partial void LogKeysInUse(string kid, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the login keys failed, keeping the ones loaded: {Reason}")]
    private partial void LogReadFailed(string reason);
}

/// <summary>
/// ASP.NET Core's data-protection key ring (it protects the sign-in cookie and the forms' anti-forgery
/// tokens) in the replicated signing-keys bucket, so that every site can read what another protected.
/// </summary>
internal sealed class BucketXmlRepository(Buckets buckets) : IXmlRepository
{
    private const string Prefix = "dataprotection.";

    public IReadOnlyCollection<XElement> GetAllElements() =>
        StoreRetry.ThroughElectionAsync(GetAllElementsAsync, CancellationToken.None).GetAwaiter().GetResult();

    public void StoreElement(XElement element, string friendlyName) =>
        StoreRetry.ThroughElectionAsync(async () =>
            await (await buckets.GetAsync(Assets.SigningKeysBucket)).PutAsync(Prefix + EntityBucket<LoginToken>.KeyPartOf(friendlyName), element.ToString(SaveOptions.DisableFormatting), CancellationToken.None),
            CancellationToken.None).GetAwaiter().GetResult();

    private async Task<IReadOnlyCollection<XElement>> GetAllElementsAsync()
    {
        var bucket = await buckets.GetAsync(Assets.SigningKeysBucket);
        var elements = new List<XElement>();
        try
        {
            await foreach (var key in bucket.KeysAsync(Prefix + "*", CancellationToken.None))
            {
                if (await bucket.GetFromLeaderAsync<string>(key, CancellationToken.None) is { } xml)
                {
                    elements.Add(XElement.Parse(xml.Value));
                }
            }
        }
        catch (NATS.Client.KeyValueStore.NatsKVException e) when (e.Message.Contains("no keys", StringComparison.OrdinalIgnoreCase))
        {
            // No key yet: data protection creates the first one.
        }

        return elements;
    }
}
