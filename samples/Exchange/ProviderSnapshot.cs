using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Exchange;

/// <summary>
/// One good copy of the provider's configuration, with the raw documents it was built from: the raw JSON is
/// what the key cache file keeps, so that a copy read back from disk is parsed exactly like a fetched one.
/// </summary>
/// <param name="Source">The site that answered, or the cache file it was read from (for logs).</param>
internal sealed record ProviderSnapshot(
    OpenIdConnectConfiguration Configuration,
    string DiscoveryJson,
    string JwksJson,
    string Source,
    DateTimeOffset FetchedAt)
{
    /// <summary>Builds a snapshot from a discovery document and a JWKS, checking it is usable.</summary>
    /// <exception cref="InvalidDataException">The documents are malformed, name another issuer, or hold no signing key.</exception>
    public static ProviderSnapshot Create(string discoveryJson, string jwksJson, string expectedIssuer, string source, DateTimeOffset fetchedAt)
    {
        OpenIdConnectConfiguration configuration;
        try
        {
            // The same steps OpenIdConnectConfigurationRetriever takes after fetching both documents.
            configuration = OpenIdConnectConfiguration.Create(discoveryJson);
            configuration.JsonWebKeySet = JsonWebKeySet.Create(jwksJson);
            foreach (var key in configuration.JsonWebKeySet.GetSigningKeys())
            {
                configuration.SigningKeys.Add(key);
            }
        }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"the documents are not a valid discovery document and JWKS ({e.Message})", e);
        }

        Check(configuration, expectedIssuer);
        return new ProviderSnapshot(configuration, discoveryJson, jwksJson, source, fetchedAt);
    }

    /// <summary>
    /// Rejects a configuration that must not replace a good one: another provider's (a site misconfigured or
    /// a wrong address would otherwise swap in keys of an issuer the exchange never trusted), or one without
    /// keys (serving it would fail every token, which is worse than serving the previous keys).
    /// </summary>
    public static void Check(OpenIdConnectConfiguration configuration, string expectedIssuer)
    {
        if (!string.Equals(configuration.Issuer, expectedIssuer, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"it advertises issuer '{configuration.Issuer}', not the configured '{expectedIssuer}'");
        }

        if (configuration.SigningKeys.Count == 0)
        {
            throw new InvalidDataException("its JWKS holds no signing key");
        }
    }

    /// <summary>The key ids, for logs: shows at a glance whether a rotated key has arrived.</summary>
    public string KeyIds => string.Join(", ", Configuration.SigningKeys.Select(k => k.KeyId ?? "(no kid)"));
}

/// <summary>
/// Fetches the provider's documents over HTTP and remembers them by address. Written instead of
/// HttpDocumentRetriever so that failures read plainly in logs (IdentityModel hides URLs in its messages as
/// personal data) and so that the exact documents that were validated can be saved to the key cache file.
/// Plain http is allowed: the local sites listen on loopback.
/// </summary>
internal sealed class SiteDocumentRetriever(HttpClient http) : IDocumentRetriever
{
    private readonly Dictionary<string, string> _documents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Uri> _answeredBy = new(StringComparer.Ordinal);

    public string? Fetched(string address) => _documents.GetValueOrDefault(address);

    /// <summary>
    /// The address that actually answered for <paramref name="address"/>: another site's when
    /// <see cref="SiteFailoverHandler"/> resent the request there.
    /// </summary>
    public Uri? AnsweredBy(string address) => _answeredBy.GetValueOrDefault(address);

    public async Task<string> GetDocumentAsync(string address, CancellationToken cancel)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidDataException($"'{address}' is not an http or https address");
        }

        using var response = await http.GetAsync(uri, cancel);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        }

        var document = await response.Content.ReadAsStringAsync(cancel);
        _documents[address] = document;
        _answeredBy[address] = response.RequestMessage?.RequestUri ?? uri;
        return document;
    }
}
