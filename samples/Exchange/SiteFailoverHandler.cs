namespace Exchange;

/// <summary>
/// Resends a provider request that a site did not answer to the same path at the next site. On the HTTP clients
/// for the provider's back channel (token endpoint, userinfo: the OpenID Connect handler's and the token refresh)
/// and for the configuration fetches.
/// </summary>
/// <remarks>
/// <para>
/// Why: the OpenID Connect handler redeems a code at the token endpoint of the configuration it read when the
/// callback arrived, and the user is waiting for it. A site can burn between the browser leaving it and coming
/// back, and the probe (<see cref="MultiSiteConfigurationManager"/>) notices only within seconds. Codes and refresh
/// tokens are valid at every site, so the same request at another site is the correct answer, not a guess.
/// </para>
/// <para>
/// Only a site that did not answer, or answered 503, is skipped: a refused or failed connection
/// (<see cref="HttpRequestException"/>), no answer within <see cref="AttemptTimeout"/> (connecting is bounded by
/// <see cref="ConnectTimeout"/>), or 503 Service Unavailable (a site cut off from the others refuses at once; the
/// last site's 503 is returned as it is). Any other HTTP answer, even an error, is the site's answer and is
/// returned as it is. The caller's own cancellation (the
/// browser went away, or the client's overall timeout) is never retried. Each other site is tried once, in the
/// configured order after the failed one; every failure is reported to the configuration manager so that it
/// checks its current site at once instead of at the next probe.
/// </para>
/// <para>
/// A site the manager already knows to be down (its probe failed, or an earlier request here) is tried last
/// instead of first: the OpenID Connect handler calls userinfo at the site of the configuration it read when the
/// callback arrived, possibly seconds before, and a hung site would cost the user a whole
/// <see cref="AttemptTimeout"/> again.
/// </para>
/// <para>
/// A request not addressed to any configured site passes through untouched.
/// </para>
/// </remarks>
internal sealed partial class SiteFailoverHandler(
    ProviderSites sites,
    MultiSiteConfigurationManager provider,
    ILogger<SiteFailoverHandler> logger) : DelegatingHandler
{
    /// <summary>The client for the provider's back channel (token endpoint, userinfo).</summary>
    public const string BackchannelClientName = "provider-backchannel";

    /// <summary>
    /// Sites are on loopback or a LAN: a connection that takes this long is to a host that is gone, and the user
    /// waits for it before the next site is tried.
    /// </summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Longest wait for one site's answer (headers) before the next site is tried. A token request takes
    /// milliseconds, except while the provider's store elects a new leader after a site is lost: then every
    /// site waits for the same election, up to 10 s (the provider's election budget), and answers. Giving up
    /// sooner helps nothing and harms: the abandoned site still redeems the code once the election is over,
    /// and the same request resent elsewhere is then refused as a code used twice (seen in partition drills
    /// with 5 s here: two sites abandoned mid-election, the third cut off, and the sign-in failed).
    /// </summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(12);

    /// <summary>Overall bound for a client using this handler: room for one attempt at each of three sites.</summary>
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(40);

    /// <summary>The innermost handler for clients using this one: bounds connecting, which the default does not.</summary>
    public static HttpMessageHandler CreatePrimaryHandler() => new SocketsHttpHandler
    {
        ConnectTimeout = ConnectTimeout,
        // The back-channel client lives as long as the app: re-resolve names now and then.
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var address = request.RequestUri;
        var first = address is null ? -1 : sites.IndexOf(address);
        if (address is null || first < 0)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        // Each site once, in the configured order from the addressed one; sites known to be down go last (a
        // stable sort, so the order holds within each group).
        var order = Enumerable.Range(0, sites.Count)
            .Select(n => (first + n) % sites.Count)
            .OrderBy(site => provider.KnownFailure(site) is not null)
            .ToArray();
        if (order[0] != first)
        {
            LogAvoidingKnownDown(request.Method.Method, address, provider.KnownFailure(first) ?? "", sites.Rebase(address, first, order[0]));
        }

        // Buffered before the first attempt: a body can be read once, and a resent request needs it again.
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var failures = new List<string>(order.Length);
        for (var n = 0; ; n++)
        {
            var site = order[n];
            // The caller's own message when it goes where it was addressed, so that nothing changes while all is well.
            var attempt = site == first ? request : Copy(request, sites.Rebase(address, first, site), body);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(AttemptTimeout);
            try
            {
                var response = await base.SendAsync(attempt, deadline.Token);
                if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && n + 1 < order.Length)
                {
                    // "Not here, not now" (a site cut off from the others refuses at once): the same request
                    // belongs at the next site, as when a site does not answer at all.
                    var refusedAt = attempt.RequestUri!;
                    response.Dispose();
                    failures.Add($"{refusedAt}: 503");
                    if (site != first)
                    {
                        attempt.Dispose();
                    }

                    LogResending(request.Method.Method, refusedAt, "503 Service Unavailable", sites.Rebase(address, first, order[n + 1]));
                    continue;
                }

                provider.ReportAnswered(site);
                if (site != first)
                {
                    LogAnsweredElsewhere(request.Method.Method, address, attempt.RequestUri!, (int)response.StatusCode);
                }

                return response;
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                var failed = attempt.RequestUri!;
                var reason = e is OperationCanceledException && deadline.IsCancellationRequested
                    ? $"no answer within {AttemptTimeout.TotalSeconds:0} s"
                    : MultiSiteConfigurationManager.Describe(e);
                provider.ReportUnreachable(site, reason);
                failures.Add($"{failed}: {reason}");
                if (site != first)
                {
                    attempt.Dispose();
                }

                if (n + 1 >= order.Length)
                {
                    LogNoSiteAnswered(request.Method.Method, address, sites.Count);
                    if (order.Length == 1)
                    {
                        throw;
                    }

                    // The last site's error alone would be read as the addressed site's: name every site's.
                    throw new HttpRequestException($"no provider site answered ({string.Join("; ", failures)})", e);
                }

                LogResending(request.Method.Method, failed, reason, sites.Rebase(address, first, order[n + 1]));
            }
        }
    }

    // Same method, headers, options and body; only the address changes. The Host header, if the caller set one,
    // named the dead site, and Content-Length is computed again from the copied body.
    private static HttpRequestMessage Copy(HttpRequestMessage original, Uri address, byte[]? body)
    {
        var copy = new HttpRequestMessage(original.Method, address)
        {
            Version = original.Version,
            VersionPolicy = original.VersionPolicy,
        };
        foreach (var header in original.Headers)
        {
            if (!string.Equals(header.Key, "Host", StringComparison.OrdinalIgnoreCase))
            {
                copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        foreach (var option in original.Options)
        {
            ((IDictionary<string, object?>)copy.Options)[option.Key] = option.Value;
        }

        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var header in original.Content!.Headers)
            {
                if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
        }

        return copy;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Address} failed ({Reason}); resending it to {Next}")]
    private partial void LogResending(string method, Uri address, string reason, Uri next);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Address}: that site is known to be down ({Reason}); sending it to {Next} first")]
    private partial void LogAvoidingKnownDown(string method, Uri address, string reason, Uri next);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Address} was answered by {AnsweredBy} ({StatusCode})")]
    private partial void LogAnsweredElsewhere(string method, Uri address, Uri answeredBy, int statusCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Address} failed at all {SiteCount} provider sites")]
    private partial void LogNoSiteAnswered(string method, Uri address, int siteCount);
}
