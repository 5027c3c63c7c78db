using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Exchange;

/// <summary>
/// The provider's OpenID Connect configuration (discovery document and signing keys), fetched from whichever of
/// the provider's sites answers. One instance is shared by the OpenID Connect handler (web login) and the JWT
/// bearer handler (API), so both see the same keys and the provider is asked once for both.
/// </summary>
/// <remarks>
/// <para>
/// Why not the stock <c>ConfigurationManager</c>: it knows one metadata address, so losing that site would stop
/// every refresh, and when its fetch fails with nothing cached it throws on every request. The provider here
/// runs on several sites that advertise one issuer but their own endpoint URLs; any of them will do.
/// </para>
/// <para>Refresh policy:</para>
/// <list type="bullet">
/// <item><description>The sites are tried in turn, each given <see cref="SiteTimeout"/>; the first that answers
/// with a configuration whose issuer is exactly <see cref="ExchangeOptions.Issuer"/> and whose JWKS has a
/// signing key wins. The next attempt starts with the site that answered last, so a dead site is not waited
/// for on every refresh.</description></item>
/// <item><description>A good configuration is kept in memory and written to <see cref="ExchangeOptions.KeyCacheFile"/>
/// (temporary file, then rename).</description></item>
/// <item><description>Calls are answered from memory. Once the copy is <see cref="ExchangeOptions.RefreshInterval"/>
/// old, a call starts a refresh in the background and is still answered with the cached copy.</description></item>
/// <item><description><see cref="RequestRefresh"/> (called by the handlers when a token names a key id the
/// cached JWKS lacks) starts a refresh at once, but at most once per
/// <see cref="ExchangeOptions.MinimumRefreshInterval"/>; a request inside that window is remembered and
/// honoured by the first call after it. The provider publishes a new key before signing with it and keeps old
/// keys until their tokens expire, so this plus the periodic refresh always finds the key.</description></item>
/// <item><description>When every site fails, the last good configuration is kept and served (keys are never
/// dropped because the provider is unreachable) and a warning is logged once. Until a site is up again, calls
/// start no refresh: the watch loop below looks for a site every <see cref="ProbeInterval"/>.</description></item>
/// <item><description>With nothing in memory (first use after start-up) the caller waits for the sites; if none
/// answers, the key cache file is read instead. With neither, <see cref="GetConfigurationAsync"/> throws
/// <see cref="ProviderUnavailableException"/> (answered as 503) at once, without asking the sites; the watch
/// loop does.</description></item>
/// <item><description>Nothing here runs at start-up itself: the app starts when every site is down.</description></item>
/// </list>
/// <para>Site choice (<see cref="WatchAsync"/>, run by <see cref="ProviderWatch"/>):</para>
/// <list type="bullet">
/// <item><description>The configuration names one site's endpoints, and the browser is sent to them, so it must
/// be a live site's. Every <see cref="ProbeInterval"/> the site whose configuration is current is probed
/// (<see cref="SiteProbe"/>: <see cref="ExchangeOptions.ProbePath"/>, <see cref="SiteProbe.Timeout"/>); a
/// failure reported by <see cref="SiteFailoverHandler"/> for that site probes it at once.</description></item>
/// <item><description>When it does not answer 200, the other sites are probed in the configured order after it,
/// and the configuration of the first that answers 200 and serves its documents (same issuer and key checks)
/// becomes current: a burned site stops being used within <see cref="ProbeInterval"/> +
/// <see cref="SiteProbe.Timeout"/> plus the fetch (milliseconds). Its keys replace the old ones (every site
/// serves the same keys).</description></item>
/// <item><description>When none answers, the last good configuration stays current (keys are never dropped), and
/// the next round tries again: one probe per site every <see cref="ProbeInterval"/> at most, and documents are
/// fetched only from a site that passed its probe. With no current site (nothing fetched, or only the key cache
/// file) every round does this.</description></item>
/// <item><description>Site state changes (failed, answers again, switched) are logged, not every probe.</description></item>
/// </list>
/// </remarks>
internal sealed partial class MultiSiteConfigurationManager : IConfigurationManager<OpenIdConnectConfiguration>, IDisposable
{
    public const string HttpClientName = "provider-metadata";

    /// <summary>How long one site may take to serve both documents before the next site is tried.</summary>
    public static readonly TimeSpan SiteTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How often the current site is probed. Bounds how long a burned site is still used (this plus
    /// <see cref="SiteProbe.Timeout"/>), and costs one small request per interval while all is well.
    /// </summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(2);

    private readonly ExchangeOptions _options;
    private readonly ProviderSites _sites;
    private readonly SiteProbe _probe;
    private readonly KeyCacheFile _cacheFile;
    private readonly IHttpClientFactory _httpClients;
    private readonly TimeProvider _time;
    private readonly ILogger<MultiSiteConfigurationManager> _logger;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _gate = new();

    // Everything below is guarded by _gate.
    private ProviderSnapshot? _current;
    private Task? _refresh;
    private DateTimeOffset _lastAttempt = DateTimeOffset.MinValue;
    private DateTimeOffset _refreshDue;
    private bool _refreshRequested;
    private int _firstSite;
    // The site whose configuration is served; -1 while it came from the key cache file or there is none.
    private int _currentSite = -1;
    // Per site, why it last failed, or null when it last answered: state changes are logged, not every probe.
    private readonly string?[] _siteFailures;
    // Set when a fetch found no site, so that an outage is logged once rather than every ProbeInterval.
    private bool _allFailed;
    // Completed to probe the current site now instead of at the end of the interval.
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _unavailableReason = "the provider configuration has not been fetched yet";

    public MultiSiteConfigurationManager(
        ExchangeOptions options,
        ProviderSites sites,
        KeyCacheFile cacheFile,
        IHttpClientFactory httpClients,
        TimeProvider time,
        ILogger<MultiSiteConfigurationManager> logger)
    {
        _options = options;
        _sites = sites;
        _probe = new SiteProbe(sites, httpClients);
        _siteFailures = new string?[sites.Count];
        _cacheFile = cacheFile;
        _httpClients = httpClients;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// The configuration served right now, without waiting or starting a refresh; null before the first one.
    /// Read when the browser is sent to the provider, so that it goes to the site chosen at that moment rather
    /// than to the one the handler read a little earlier.
    /// </summary>
    public OpenIdConnectConfiguration? Current
    {
        get
        {
            lock (_gate)
            {
                return _current?.Configuration;
            }
        }
    }

    /// <summary>
    /// The current configuration. Waits only when there is none yet; otherwise answers at once, starting a
    /// background refresh when one is due.
    /// </summary>
    /// <exception cref="ProviderUnavailableException">No site answered and there is no usable key cache file.</exception>
    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        Task refresh;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_current is not null)
            {
                // While no site is up, only the watch loop looks for one (probing first, every ProbeInterval): a
                // refresh would only ask every dead site for its documents again.
                if (!_allFailed && (now >= _refreshDue || (_refreshRequested && MayAttempt(now))))
                {
                    StartRefresh(now);
                }

                return _current.Configuration;
            }

            // Nothing to serve: wait for a fetch, unless one already failed; then fail fast, so that requests
            // during an outage neither pile up on the sites nor each wait for every site's timeout. The watch
            // loop looks for a site every ProbeInterval meanwhile.
            if (_allFailed || (_refresh is null && !MayAttempt(now)))
            {
                throw new ProviderUnavailableException(_unavailableReason);
            }

            refresh = _refresh ?? StartRefresh(now);
        }

        await refresh.WaitAsync(cancel);
        lock (_gate)
        {
            return _current?.Configuration ?? throw new ProviderUnavailableException(_unavailableReason);
        }
    }

    /// <summary>
    /// Asks for a refresh because a token named an unknown key id. Starts one at once if the last attempt is at
    /// least <see cref="ExchangeOptions.MinimumRefreshInterval"/> old; otherwise the first call after that does.
    /// Never waits.
    /// </summary>
    public void RequestRefresh()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!_allFailed && MayAttempt(now))
            {
                LogRefreshRequested();
                StartRefresh(now);
            }
            else
            {
                // Anyone can send a token with a made-up kid: remember the request instead of fetching again.
                // During an outage the watch loop's fetch, once a site is up again, brings the new keys.
                _refreshRequested = true;
            }
        }
    }

    /// <summary>
    /// Told by <see cref="SiteFailoverHandler"/> that a request to <paramref name="site"/> got no answer. If it is the
    /// current site, it is probed at once (and left if the probe fails too) rather than at the next interval.
    /// </summary>
    public void ReportUnreachable(int site, string reason)
    {
        NoteSiteDown(site, reason);
        lock (_gate)
        {
            if (site == _currentSite)
            {
                _wake.TrySetResult();
            }
        }
    }

    /// <summary>Told by <see cref="SiteFailoverHandler"/> that <paramref name="site"/> answered a request.</summary>
    public void ReportAnswered(int site) => NoteSiteUp(site);

    /// <summary>
    /// Why <paramref name="site"/> last failed (a probe, a fetch, or a request reported by
    /// <see cref="SiteFailoverHandler"/>), or null when it last answered or was never tried. Lets a request built
    /// from a configuration read a moment ago go first to a site that answers.
    /// </summary>
    public string? KnownFailure(int site)
    {
        lock (_gate)
        {
            return _siteFailures[site];
        }
    }

    /// <summary>
    /// Probes the current site every <see cref="ProbeInterval"/> (or at once when woken by
    /// <see cref="ReportUnreachable"/>) and switches to another site when it is down; see the class remarks.
    /// Runs until <paramref name="stopping"/> is cancelled, then throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task WatchAsync(CancellationToken stopping)
    {
        while (true)
        {
            await NextRoundAsync(stopping);
            try
            {
                await CheckCurrentSiteAsync(stopping);
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                // A bug, not an outage: the next round tries again, and the configuration in use stays.
                LogWatchCrashed(e);
            }
        }
    }

    // Cancels a refresh in flight at shutdown. The source is not disposed: a late call would then fail on its token.
    public void Dispose() => _disposed.Cancel();

    // The innermost exception names the actual cause (a refused connection, a DNS failure, a JSON error).
    internal static string Describe(Exception e)
    {
        var cause = e.GetBaseException().Message;
        return e.Message.Contains(cause, StringComparison.Ordinal) ? e.Message : $"{e.Message} ({cause})";
    }

    private async Task NextRoundAsync(CancellationToken stopping)
    {
        Task wake;
        lock (_gate)
        {
            wake = _wake.Task;
        }

        using (var interval = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            await Task.WhenAny(Task.Delay(ProbeInterval, _time, interval.Token), wake);
            await interval.CancelAsync();
        }

        stopping.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_wake.Task.IsCompleted)
            {
                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    private async Task CheckCurrentSiteAsync(CancellationToken stopping)
    {
        int site;
        lock (_gate)
        {
            // A fetch in flight is choosing a site right now (start-up, a refresh); the next round checks its choice.
            if (_refresh is not null)
            {
                return;
            }

            site = _currentSite;
        }

        // With no current site (nothing fetched yet, or only the key cache file) every round looks for one.
        if (site >= 0)
        {
            var failure = await _probe.CheckAsync(site, stopping);
            if (failure is null)
            {
                NoteSiteUp(site);
                return;
            }

            NoteSiteDown(site, failure);
        }

        Task failover;
        lock (_gate)
        {
            if (_currentSite != site && _refresh is null)
            {
                // Another fetch switched sites while this probe ran: check the new site next round.
                return;
            }

            failover = StartRefresh(_time.GetUtcNow(), failover: true);
        }

        await failover.WaitAsync(stopping);
    }

    private bool MayAttempt(DateTimeOffset now) => _refresh is null && now - _lastAttempt >= _options.MinimumRefreshInterval;

    // Called under _gate. One fetch at a time: callers arriving meanwhile share it, whatever started it.
    // A refresh (periodic, asked for, first use) starts at the site that answered last and takes the first site
    // that serves its documents. A failover (a round of the watch loop whose current site failed its probe, or
    // that has no current site) starts at the site after the current one and takes only a site that passes its
    // probe: a site cut off from the others still serves documents, and its configuration would send browsers
    // to it. Probing first also keeps an outage cheap and quiet: one probe per site per round, no document
    // fetches (and no failover handler resending them) while no site is up.
    private Task StartRefresh(DateTimeOffset now, bool failover = false)
    {
        if (_refresh is not null)
        {
            return _refresh;
        }

        _lastAttempt = now;
        _refreshRequested = false;
        var start = failover && _currentSite >= 0 ? (_currentSite + 1) % _sites.Count : _firstSite;
        // On the thread pool and under the manager's own token: a refresh must outlive the request that started it.
        _refresh = Task.Run(() => RefreshAsync(start, failover, _disposed.Token));
        return _refresh;
    }

    private async Task RefreshAsync(int start, bool requireProbe, CancellationToken stopping)
    {
        try
        {
            var (fetched, site, failures) = await FetchAsync(start, requireProbe, stopping);
            if (fetched is not null)
            {
                int previous;
                lock (_gate)
                {
                    previous = _currentSite;
                    _current = fetched;
                    _currentSite = site;
                    _firstSite = site;
                    _allFailed = false;
                    _refreshDue = fetched.FetchedAt + _options.RefreshInterval;
                }

                if (previous >= 0 && previous != site)
                {
                    LogSwitched(_sites.Base(previous).AbsoluteUri, fetched.Source, fetched.KeyIds);
                }
                else
                {
                    LogRefreshed(fetched.Source, fetched.Configuration.SigningKeys.Count, fetched.KeyIds);
                }

                await SaveAsync(fetched, stopping);
                return;
            }

            ProviderSnapshot? current;
            bool outageStarts;
            lock (_gate)
            {
                current = _current;
                outageStarts = !_allFailed;
                // From now on calls start no refresh; the watch loop looks for a site every ProbeInterval.
                _allFailed = true;
            }

            if (current is not null)
            {
                if (outageStarts)
                {
                    LogServingCached(failures, current.Source, current.FetchedAt, ProbeInterval);
                }

                return;
            }

            // Nothing in memory yet (first fetch since start-up): fall back to the copy saved by an earlier run.
            try
            {
                var saved = await _cacheFile.LoadAsync(_options.Issuer, stopping);
                bool served;
                lock (_gate)
                {
                    served = _current is null;
                    _current ??= saved;
                }

                if (served)
                {
                    LogServingFile(failures, saved.Source, saved.FetchedAt, saved.KeyIds);
                }
            }
            catch (InvalidDataException e)
            {
                var reason = $"no provider site answered ({failures}) and {e.Message}";
                lock (_gate)
                {
                    _unavailableReason = reason;
                }

                if (outageStarts)
                {
                    LogUnavailable(reason, ProbeInterval);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception e)
        {
            // A bug, not an outage; keep whatever is served and let the next call try again.
            LogRefreshCrashed(e);
            lock (_gate)
            {
                _refreshDue = _time.GetUtcNow() + _options.MinimumRefreshInterval;
                _unavailableReason = $"fetching the provider configuration failed unexpectedly ({e.Message})";
            }
        }
        finally
        {
            lock (_gate)
            {
                _refresh = null;
            }
        }
    }

    private async Task<(ProviderSnapshot? Snapshot, int Site, string Failures)> FetchAsync(int start, bool requireProbe, CancellationToken stopping)
    {
        var failures = new List<string>();
        var http = _httpClients.CreateClient(HttpClientName);
        for (var n = 0; n < _sites.Count; n++)
        {
            var site = (start + n) % _sites.Count;
            var address = _sites.Discovery(site).AbsoluteUri;
            if (requireProbe && await _probe.CheckAsync(site, stopping) is { } down)
            {
                failures.Add(down);
                NoteSiteDown(site, down);
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(SiteTimeout);
            var documents = new SiteDocumentRetriever(http);
            try
            {
                var configuration = await OpenIdConnectConfigurationRetriever.GetAsync(address, documents, timeout.Token);
                ProviderSnapshot.Check(configuration, _options.Issuer);
                var jwks = documents.Fetched(configuration.JwksUri)
                    ?? throw new InvalidDataException("its discovery document has no jwks_uri");
                // SiteFailoverHandler may have had the next site answer for this one (it refused the connection);
                // the documents, and so the endpoints, are then that site's, and that site is the current one.
                var answeredBy = documents.AnsweredBy(address) is { } uri && _sites.IndexOf(uri) is >= 0 and var other ? other : site;
                var source = answeredBy == site ? address : _sites.Discovery(answeredBy).AbsoluteUri;
                var snapshot = new ProviderSnapshot(configuration, documents.Fetched(address)!, jwks, source, _time.GetUtcNow());
                NoteSiteUp(answeredBy);
                return (snapshot, answeredBy, "");
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                var reason = timeout.IsCancellationRequested ? $"no answer within {SiteTimeout.TotalSeconds:0} s" : Describe(e);
                failures.Add($"{address}: {reason}");
                NoteSiteDown(site, reason);
            }
        }

        return (null, -1, string.Join("; ", failures));
    }

    // Logs a site's state only when it changes: the watch loop probes every ProbeInterval, and an outage must
    // not fill the log with the same line.
    private void NoteSiteDown(int site, string reason)
    {
        lock (_gate)
        {
            if (_siteFailures[site] is not null)
            {
                return;
            }

            _siteFailures[site] = reason;
        }

        LogSiteFailed(_sites.Base(site).AbsoluteUri, reason);
    }

    private void NoteSiteUp(int site)
    {
        lock (_gate)
        {
            if (_siteFailures[site] is null)
            {
                return;
            }

            _siteFailures[site] = null;
        }

        LogSiteAnswersAgain(_sites.Base(site).AbsoluteUri);
    }

    private async Task SaveAsync(ProviderSnapshot snapshot, CancellationToken stopping)
    {
        try
        {
            await _cacheFile.SaveAsync(snapshot, stopping);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The in-memory copy still serves; only a restart during an outage would miss this copy.
            LogCacheWriteFailed(_cacheFile.Path, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider configuration refreshed from {Site}: {KeyCount} signing keys ({KeyIds})")]
    private partial void LogRefreshed(string site, int keyCount, string keyIds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider site {PreviousSite} is down; switched to {Source}: signing keys {KeyIds}")]
    private partial void LogSwitched(string previousSite, string source, string keyIds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider site {Site} failed: {Reason}")]
    private partial void LogSiteFailed(string site, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider site {Site} answers again")]
    private partial void LogSiteAnswersAgain(string site);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Every provider site failed ({Failures}); still serving the configuration from {Source} fetched at {FetchedAt}; checking the sites every {RetryAfter}")]
    private partial void LogServingCached(string failures, string source, DateTimeOffset fetchedAt, TimeSpan retryAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Every provider site failed ({Failures}); serving the configuration saved in {Source} at {FetchedAt}, keys {KeyIds}")]
    private partial void LogServingFile(string failures, string source, DateTimeOffset fetchedAt, string keyIds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider configuration unavailable: {Reason}. Sign-in and the API answer 503 until a site answers; checking the sites every {RetryAfter}")]
    private partial void LogUnavailable(string reason, TimeSpan retryAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refreshing the provider configuration now: a token named a key id it does not have")]
    private partial void LogRefreshRequested();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the key cache file {Path}: {Reason}")]
    private partial void LogCacheWriteFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refreshing the provider configuration failed unexpectedly")]
    private partial void LogRefreshCrashed(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checking the current provider site failed unexpectedly")]
    private partial void LogWatchCrashed(Exception exception);
}
