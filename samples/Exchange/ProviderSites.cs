namespace Exchange;

/// <summary>
/// The provider's sites (<see cref="ExchangeOptions.Authorities"/>, in their configured order) and how an address
/// at one site maps to the same address at another. Every site serves the same paths under its own base URL
/// (its discovery document names its own endpoints there), which is what lets a request meant for a dead site be
/// resent, unchanged but for the base, to a live one.
/// </summary>
internal sealed class ProviderSites
{
    private readonly Uri[] _bases;
    private readonly Uri[] _probes;

    public ProviderSites(ExchangeOptions options)
    {
        // A trailing slash, so that relative paths resolve under the base instead of replacing its last segment.
        _bases = [.. options.AuthorityUris().Select(a => a.AbsoluteUri.EndsWith('/') ? a : new Uri(a.AbsoluteUri + "/"))];
        _probes = [.. _bases.Select(b => new Uri(b, options.ProbePath.TrimStart('/')))];
    }

    public int Count => _bases.Length;

    /// <summary>The base URL of a site, with a trailing slash.</summary>
    public Uri Base(int site) => _bases[site];

    /// <summary>The discovery address of a site: the issuer-relative path of OpenID Connect Discovery 1.0.</summary>
    public Uri Discovery(int site) => new(_bases[site], ".well-known/openid-configuration");

    /// <summary>The address whose 200 means the site is up and ready (<see cref="ExchangeOptions.ProbePath"/>).</summary>
    public Uri Probe(int site) => _probes[site];

    /// <summary>
    /// The site <paramref name="address"/> belongs to (same scheme, host and port, and under its base path), or -1
    /// when it is not at any site. The longest base wins, in case two sites share a host under different paths.
    /// </summary>
    public int IndexOf(Uri address)
    {
        if (!address.IsAbsoluteUri)
        {
            return -1;
        }

        var found = -1;
        for (var site = 0; site < _bases.Length; site++)
        {
            var candidate = _bases[site];
            if (Uri.Compare(address, candidate, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0
                && (address.AbsolutePath + "/").StartsWith(candidate.AbsolutePath, StringComparison.Ordinal)
                && (found < 0 || candidate.AbsolutePath.Length > _bases[found].AbsolutePath.Length))
            {
                found = site;
            }
        }

        return found;
    }

    /// <summary>The same path and query as <paramref name="address"/> (at site <paramref name="from"/>) under site <paramref name="to"/>.</summary>
    public Uri Rebase(Uri address, int from, int to)
    {
        var basePath = _bases[from].AbsolutePath;
        var path = address.AbsolutePath;
        // Both are in escaped form, so the rest is copied as it is; the base itself without its slash maps to the other base.
        var rest = path.Length >= basePath.Length ? path[basePath.Length..] : "";
        return new Uri(_bases[to].AbsoluteUri + rest + address.Query);
    }
}
