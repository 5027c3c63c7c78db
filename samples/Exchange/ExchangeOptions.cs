namespace Exchange;

/// <summary>
/// The exchange's settings, bound from configuration section "Exchange" (environment variables
/// <c>Exchange__Authorities__0</c>, <c>Exchange__Issuer</c>, ...) and checked once at start-up, so that a
/// misconfigured app stops at once with a message saying what to fix instead of failing on the first sign-in.
/// </summary>
internal sealed class ExchangeOptions
{
    public const string SectionName = "Exchange";

    /// <summary>
    /// Base URLs of the provider's sites (for example http://127.0.0.11:5001/). Each serves its own
    /// /.well-known/openid-configuration and JWKS; they are tried in turn, so any one of them is enough.
    /// </summary>
    public List<string> Authorities { get; set; } = [];

    /// <summary>
    /// The issuer every site advertises and every token carries, compared exactly (a trailing slash matters):
    /// the sites' URLs differ but the issuer is one, which is why it is configured rather than taken from
    /// whichever site answered.
    /// </summary>
    public string Issuer { get; set; } = "";

    /// <summary>The exchange's confidential client at the provider (web login: authorization code + PKCE).</summary>
    public string ClientId { get; set; } = "";

    public string ClientSecret { get; set; } = "";

    /// <summary>The audience of access tokens for the exchange's own API.</summary>
    public string Audience { get; set; } = "exchange";

    /// <summary>
    /// JSON file holding the last good provider configuration (discovery document and JWKS), read when no
    /// site answers at start-up. A relative path is taken from the working directory.
    /// </summary>
    public string KeyCacheFile { get; set; } = "";

    /// <summary>How old the cached configuration may get before a background refresh starts.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The least time between two attempts to fetch the configuration: bounds refreshes asked for by tokens
    /// with unknown key ids (anyone can send those) and retries while every site is down.
    /// </summary>
    public TimeSpan MinimumRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Path, under each authority, whose 200 answer means the site is up and can serve sign-ins; probed every 2 s
    /// on the site in use so that a dead or cut-off site is left within seconds. Haetae's nodes answer /readyz
    /// with 503 while cut off from the other sites, which a discovery document would not show; for a provider
    /// without a readiness endpoint use ".well-known/openid-configuration".
    /// </summary>
    public string ProbePath { get; set; } = "readyz";

    /// <summary>The authorities as URIs; only meaningful after <see cref="Validate"/> succeeded.</summary>
    public IReadOnlyList<Uri> AuthorityUris() => [.. Authorities.Select(a => new Uri(a, UriKind.Absolute))];

    /// <summary>Throws one exception listing every problem, so that a single restart can fix them all.</summary>
    public void Validate()
    {
        var problems = new List<string>();

        if (Authorities.Count == 0)
        {
            problems.Add("Exchange:Authorities is required: the base URL of at least one provider site (Exchange__Authorities__0=http://127.0.0.11:5001/).");
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Authorities.Count; i++)
        {
            var authority = Authorities[i];
            if (!Uri.TryCreate(authority, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                problems.Add($"Exchange:Authorities:{i} ('{authority}') must be an absolute http or https URL.");
            }
            else if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            {
                problems.Add($"Exchange:Authorities:{i} ('{authority}') must not have a query or fragment: /.well-known/openid-configuration is appended to it.");
            }
            else if (!seen.Add(uri.AbsoluteUri.TrimEnd('/')))
            {
                problems.Add($"Exchange:Authorities:{i} ('{authority}') is listed twice.");
            }
        }

        if (string.IsNullOrWhiteSpace(Issuer))
        {
            problems.Add("Exchange:Issuer is required: the issuer string the provider's tokens carry (for example https://login.haetae.local/).");
        }
        else if (!Uri.TryCreate(Issuer, UriKind.Absolute, out _))
        {
            problems.Add($"Exchange:Issuer ('{Issuer}') must be an absolute URL.");
        }

        if (string.IsNullOrWhiteSpace(ClientId))
        {
            problems.Add("Exchange:ClientId is required: the exchange's client id at the provider.");
        }

        if (string.IsNullOrWhiteSpace(ClientSecret))
        {
            problems.Add("Exchange:ClientSecret is required: the exchange is a confidential client.");
        }

        if (string.IsNullOrWhiteSpace(Audience))
        {
            problems.Add("Exchange:Audience is required: the audience of access tokens for the exchange's API (\"exchange\").");
        }

        if (string.IsNullOrWhiteSpace(KeyCacheFile))
        {
            problems.Add("Exchange:KeyCacheFile is required: the file where the last good provider configuration is kept, so that the exchange can check tokens while every provider site is down.");
        }

        if (string.IsNullOrWhiteSpace(ProbePath)
            || !Uri.TryCreate(ProbePath.TrimStart('/'), UriKind.Relative, out _)
            || ProbePath.Contains('#', StringComparison.Ordinal)
            || ProbePath.StartsWith("//", StringComparison.Ordinal))
        {
            problems.Add($"Exchange:ProbePath ('{ProbePath}') must be a path under each authority, such as \"readyz\" or \".well-known/openid-configuration\".");
        }

        if (RefreshInterval <= TimeSpan.Zero)
        {
            problems.Add($"Exchange:RefreshInterval ({RefreshInterval}) must be positive.");
        }

        if (MinimumRefreshInterval <= TimeSpan.Zero)
        {
            problems.Add($"Exchange:MinimumRefreshInterval ({MinimumRefreshInterval}) must be positive.");
        }
        else if (MinimumRefreshInterval > RefreshInterval)
        {
            problems.Add($"Exchange:MinimumRefreshInterval ({MinimumRefreshInterval}) must not be longer than Exchange:RefreshInterval ({RefreshInterval}).");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"The \"{SectionName}\" configuration section is invalid:{Environment.NewLine} - {string.Join($"{Environment.NewLine} - ", problems)}");
        }
    }
}
