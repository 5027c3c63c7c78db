using System.Net;

namespace Exchange;

/// <summary>
/// Asks one provider site whether it is up: GET <see cref="ProviderSites.Probe"/>, where only a 200 within
/// <see cref="Timeout"/> counts. Owned by <see cref="MultiSiteConfigurationManager"/>, which probes the site in
/// use every <see cref="MultiSiteConfigurationManager.ProbeInterval"/> and each candidate before switching to it.
/// </summary>
/// <remarks>
/// Its HTTP client has no <see cref="SiteFailoverHandler"/>: a probe asks about one site, and an answer from
/// another would say nothing about it.
/// </remarks>
internal sealed class SiteProbe(ProviderSites sites, IHttpClientFactory httpClients)
{
    public const string HttpClientName = "provider-probe";

    /// <summary>
    /// A ready site answers its probe in milliseconds; one that takes longer will not serve a sign-in promptly
    /// either. Short, so that the probe of a site that stopped answering (rather than refusing) ends quickly.
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>Null when the site answered 200; otherwise why it counts as down (for logs).</summary>
    public async Task<string?> CheckAsync(int site, CancellationToken stopping)
    {
        var address = sites.Probe(site);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(Timeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName)
                .GetAsync(address, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            // 503 is what a Haetae node answers while cut off from the other sites: it must not be used then.
            return response.StatusCode == HttpStatusCode.OK
                ? null
                : $"GET {address} answered {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return $"GET {address}: no answer within {Timeout.TotalSeconds:0} s";
        }
        catch (HttpRequestException e)
        {
            return $"GET {address}: {MultiSiteConfigurationManager.Describe(e)}";
        }
    }
}
