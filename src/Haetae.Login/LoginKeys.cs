using System.Xml.Linq;
using Haetae.Contracts;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OpenIddict.Server;

namespace Haetae.Login;

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
            await (await buckets.GetAsync(Assets.SigningKeysBucket)).PutAsync(new Key<string>(Prefix + EntityBucket<LoginToken>.KeyPartOf(friendlyName)), element.ToString(SaveOptions.DisableFormatting), CancellationToken.None),
            CancellationToken.None).GetAwaiter().GetResult();

    private async Task<IReadOnlyCollection<XElement>> GetAllElementsAsync()
    {
        var bucket = await buckets.GetAsync(Assets.SigningKeysBucket);
        var elements = new List<XElement>();
        await foreach (var key in bucket.KeysAsync(Prefix + "*", CancellationToken.None))
        {
            if (await bucket.GetFromLeaderAsync(new Key<string>(key), CancellationToken.None) is { } xml)
            {
                elements.Add(XElement.Parse(xml.Value));
            }
        }

        return elements;
    }
}

/// <summary>
/// OpenIddict signs and encrypts with the platform's one key ring (<see cref="KeyRing"/>), and rebuilds
/// its options whenever the ring's keys or their order change.
/// </summary>
internal sealed class OpenIddictKeys(KeyRing ring) : IConfigureOptions<OpenIddictServerOptions>, IOptionsChangeTokenSource<OpenIddictServerOptions>
{
    public string Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => ring.GetChangeToken();

    public void Configure(OpenIddictServerOptions options)
    {
        if (ring.Current is { } keys)
        {
            options.SigningCredentials.AddRange(keys.Signing);
            options.EncryptionCredentials.AddRange(keys.Encryption);
        }
    }
}
