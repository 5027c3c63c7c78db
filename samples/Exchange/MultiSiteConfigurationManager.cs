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
/// dropped because the provider is unreachable), a warning is logged, and the next call after
/// <see cref="ExchangeOptions.MinimumRefreshInterval"/> tries again.</description></item>
/// <item><description>With nothing in memory (first use after start-up) the caller waits for the sites; if none
/// answers, the key cache file is read instead. With neither, <see cref="GetConfigurationAsync"/> throws
/// <see cref="ProviderUnavailableException"/> (answered as 503) without asking the sites again until
/// <see cref="ExchangeOptions.MinimumRefreshInterval"/> has passed.</description></item>
/// <item><description>Nothing here runs at start-up itself: the app starts when every site is down.</description></item>
/// </list>
/// </remarks>
internal sealed partial class MultiSiteConfigurationManager : IConfigurationManager<OpenIdConnectConfiguration>, IDisposable
{
    public const string HttpClientName = "provider-metadata";

    /// <summary>How long one site may take to serve both documents before the next site is tried.</summary>
    public static readonly TimeSpan SiteTimeout = TimeSpan.FromSeconds(3);

    private readonly ExchangeOptions _options;
    private readonly IReadOnlyList<Uri> _metadataAddresses;
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
    private string _unavailableReason = "the provider configuration has not been fetched yet";

    public MultiSiteConfigurationManager(
        ExchangeOptions options,
        KeyCacheFile cacheFile,
        IHttpClientFactory httpClients,
        TimeProvider time,
        ILogger<MultiSiteConfigurationManager> logger)
    {
        _options = options;
        _metadataAddresses = [.. options.AuthorityUris().Select(MetadataAddress)];
        _cacheFile = cacheFile;
        _httpClients = httpClients;
        _time = time;
        _logger = logger;
    }

    /// <summary>The discovery address of a site: the issuer-relative path of OpenID Connect Discovery 1.0.</summary>
    public static Uri MetadataAddress(Uri authority)
    {
        var baseUri = authority.AbsoluteUri.EndsWith('/') ? authority : new Uri(authority.AbsoluteUri + "/");
        return new Uri(baseUri, ".well-known/openid-configuration");
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
                if (now >= _refreshDue || (_refreshRequested && MayAttempt(now)))
                {
                    StartRefresh(now);
                }

                return _current.Configuration;
            }

            // Nothing to serve: wait for a fetch, unless one just failed; then fail fast, so that requests
            // during an outage neither pile up on the sites nor each wait for every site's timeout.
            if (_refresh is null && !MayAttempt(now))
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
            if (MayAttempt(now))
            {
                LogRefreshRequested();
                StartRefresh(now);
            }
            else
            {
                // Anyone can send a token with a made-up kid: remember the request instead of fetching again.
                _refreshRequested = true;
            }
        }
    }

    // Cancels a refresh in flight at shutdown. The source is not disposed: a late call would then fail on its token.
    public void Dispose() => _disposed.Cancel();

    private bool MayAttempt(DateTimeOffset now) => _refresh is null && now - _lastAttempt >= _options.MinimumRefreshInterval;

    // Called under _gate. One refresh at a time: callers arriving meanwhile share it.
    private Task StartRefresh(DateTimeOffset now)
    {
        if (_refresh is not null)
        {
            return _refresh;
        }

        _lastAttempt = now;
        _refreshRequested = false;
        // On the thread pool and under the manager's own token: a refresh must outlive the request that started it.
        _refresh = Task.Run(() => RefreshAsync(_disposed.Token));
        return _refresh;
    }

    private async Task RefreshAsync(CancellationToken stopping)
    {
        try
        {
            var (fetched, site, failures) = await FetchAsync(stopping);
            if (fetched is not null)
            {
                lock (_gate)
                {
                    _current = fetched;
                    _firstSite = site;
                    _refreshDue = fetched.FetchedAt + _options.RefreshInterval;
                }

                LogRefreshed(fetched.Source, fetched.Configuration.SigningKeys.Count, fetched.KeyIds);
                await SaveAsync(fetched, stopping);
                return;
            }

            ProviderSnapshot? current;
            lock (_gate)
            {
                current = _current;
                // Try again on the first call after the minimum interval (see MayAttempt), not only after the full one.
                _refreshDue = _time.GetUtcNow() + _options.MinimumRefreshInterval;
            }

            if (current is not null)
            {
                LogServingCached(failures, current.Source, current.FetchedAt, _options.MinimumRefreshInterval);
                return;
            }

            // Nothing in memory yet (first fetch since start-up): fall back to the copy saved by an earlier run.
            try
            {
                var saved = await _cacheFile.LoadAsync(_options.Issuer, stopping);
                lock (_gate)
                {
                    _current ??= saved;
                }

                LogServingFile(failures, saved.Source, saved.FetchedAt, saved.KeyIds);
            }
            catch (InvalidDataException e)
            {
                var reason = $"no provider site answered ({failures}) and {e.Message}";
                lock (_gate)
                {
                    _unavailableReason = reason;
                }

                LogUnavailable(reason, _options.MinimumRefreshInterval);
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

    private async Task<(ProviderSnapshot? Snapshot, int Site, string Failures)> FetchAsync(CancellationToken stopping)
    {
        int first;
        lock (_gate)
        {
            first = _firstSite;
        }

        var failures = new List<string>();
        var http = _httpClients.CreateClient(HttpClientName);
        for (var n = 0; n < _metadataAddresses.Count; n++)
        {
            var site = (first + n) % _metadataAddresses.Count;
            var address = _metadataAddresses[site].AbsoluteUri;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(SiteTimeout);
            var documents = new SiteDocumentRetriever(http);
            try
            {
                var configuration = await OpenIdConnectConfigurationRetriever.GetAsync(address, documents, timeout.Token);
                ProviderSnapshot.Check(configuration, _options.Issuer);
                var jwks = documents.Fetched(configuration.JwksUri)
                    ?? throw new InvalidDataException("its discovery document has no jwks_uri");
                var snapshot = new ProviderSnapshot(configuration, documents.Fetched(address)!, jwks, address, _time.GetUtcNow());
                return (snapshot, site, "");
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                var reason = timeout.IsCancellationRequested ? $"no answer within {SiteTimeout.TotalSeconds:0} s" : Describe(e);
                failures.Add($"{address}: {reason}");
                LogSiteFailed(address, reason);
            }
        }

        return (null, -1, string.Join("; ", failures));
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

    // The innermost exception names the actual cause (a refused connection, a DNS failure, a JSON error).
    private static string Describe(Exception e)
    {
        var cause = e.GetBaseException().Message;
        return e.Message.Contains(cause, StringComparison.Ordinal) ? e.Message : $"{e.Message} ({cause})";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider configuration refreshed from {Site}: {KeyCount} signing keys ({KeyIds})")]
    private partial void LogRefreshed(string site, int keyCount, string keyIds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider site {Site} failed: {Reason}")]
    private partial void LogSiteFailed(string site, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Every provider site failed ({Failures}); still serving the configuration from {Source} fetched at {FetchedAt}; retrying after {RetryAfter}")]
    private partial void LogServingCached(string failures, string source, DateTimeOffset fetchedAt, TimeSpan retryAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Every provider site failed ({Failures}); serving the configuration saved in {Source} at {FetchedAt}, keys {KeyIds}")]
    private partial void LogServingFile(string failures, string source, DateTimeOffset fetchedAt, string keyIds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider configuration unavailable: {Reason}. Sign-in and the API answer 503 until a site answers; retrying after {RetryAfter}")]
    private partial void LogUnavailable(string reason, TimeSpan retryAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refreshing the provider configuration now: a token named a key id it does not have")]
    private partial void LogRefreshRequested();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the key cache file {Path}: {Reason}")]
    private partial void LogCacheWriteFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refreshing the provider configuration failed unexpectedly")]
    private partial void LogRefreshCrashed(Exception exception);
}
