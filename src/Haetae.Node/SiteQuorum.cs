using System.Text.Json.Serialization;
using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;
using Haetae.Platform.Store;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NATS.Client.Core;

namespace Haetae.Node;

/// <summary>
/// Whether this node's site still reaches a majority of the sites. A site cut off from the others (its
/// processes running, its links severed) must not serve: its replicas fall behind at once, a stream
/// leader there keeps believing it leads until its own quorum check gives up, and every write it takes
/// in that time is a Raft entry the majority never saw. So the node watches its own nats-server's routes
/// (/routez on the server's monitoring port, polled ten times a second); while the server sees fewer
/// than a majority of the sites, the node answers every API and login request with 503, drops its open requests
/// and realtime sockets, and reports not ready. Clients then move to another site at once, with the same
/// request ids, instead of waiting out timeouts against an island.
/// <para>
/// A cut-off site also gives up the leaderships its server still holds. nats-server's leader steps down
/// only after 10 to 20 s without a quorum (raft.go's lostQuorumInterval and its check), so after a shorter
/// cut it is still "leader" when the links return, and the first answer to a leader read (any site's
/// request reaches every replica; the first reply wins) can come from it, with the state of the moment
/// of the cut: a profile renamed during the cut was seen with its old name right after a heal. The node
/// therefore asks its own server, over a connection to it alone, to step down from every stream and
/// bucket it leads, at once and every second while the cut lasts (an island wins no election, so none
/// comes back). No write is lost by this: nothing a leader without quorum held was ever acknowledged.
/// </para>
/// <para>
/// An evacuated site (a fire alarm: <see cref="Evacuate"/>) is fenced the same way while it still reaches
/// the others, and its server steps down from everything it leads, every second, so that a fire after
/// that takes no leader with it: the others already hold a quorum and a leader of every stream.
/// </para>
/// </summary>
internal sealed partial class SiteQuorum(NatsSettings nats, TimeProvider time, ILogger<SiteQuorum> logger) : BackgroundService, IHealthCheck, ISiteFence
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a cut-off site asks its server again to lead nothing.</summary>
    private static readonly TimeSpan RelinquishInterval = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(1) };
    private readonly Lock _gate = new();
    private CancellationTokenSource _connected = new();
    private volatile bool _isolated;
    private volatile bool _evacuating;
    private NatsConnection? _local;

    /// <summary>True while this site's server reaches fewer than a majority of the sites.</summary>
    public bool IsIsolated => _isolated;

    public DateTimeOffset? IsolatedSince { get; private set; }

    /// <summary>True once the site is being evacuated (until <see cref="Return"/>).</summary>
    public bool IsEvacuating => _evacuating;

    /// <summary>
    /// A fire alarm: from now on this site serves nothing (its requests and sockets under way end, and its
    /// clients move to the other sites), and its server gives up every leadership it holds, at once and every
    /// second after. Idempotent.
    /// </summary>
    public void Evacuate()
    {
        if (_evacuating)
        {
            return;
        }

        _evacuating = true;
        logger.LogWarning("Evacuating this site: refusing requests, moving clients and leaderships to the other sites.");
        EndRequestsUnderWay();
    }

    /// <summary>The alarm is over: the site serves again (its server may lead again at the next elections).</summary>
    public void Return()
    {
        if (_evacuating)
        {
            _evacuating = false;
            logger.LogWarning("Evacuation called off: serving again.");
        }
    }

    /// <summary>While isolated or evacuating, the site serves nothing and leads nothing.</summary>
    private bool Fenced => _isolated || _evacuating;

    /// <summary>Cancelled the moment the site is found cut off; requests link to it to end early.</summary>
    public CancellationToken WhileConnected
    {
        get
        {
            lock (_gate)
            {
                return _connected.Token;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (nats.MonitorUrl is not { Length: > 0 } monitor || nats.Urls.Count < 3)
        {
            logger.LogInformation("Site quorum not watched (no Haetae:Nats:MonitorUrl, or fewer than three sites).");
            return;
        }

        var routez = new Uri(new Uri(monitor), "routez");
        var majority = (nats.Urls.Count / 2) + 1;
        var relinquished = 0L;
        using var timer = new PeriodicTimer(PollInterval);
        do
        {
            int? sites = null;
            string? server = null;
            try
            {
                var answer = await _http.GetFromJsonAsync<Routez>(routez, stoppingToken);
                sites = 1 + (answer?.Routes ?? []).Select(r => r.RemoteId).Distinct().Count();
                server = answer?.ServerName;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !stoppingToken.IsCancellationRequested)
            {
                // The local server is not answering: it is down, and the store connection has moved to
                // another site. That is a fire, not a cut, and the node keeps serving through the others.
            }

            Set(sites is { } seen && seen < majority, sites);
            if (Fenced && server is not null && Environment.TickCount64 - relinquished >= (long)RelinquishInterval.TotalMilliseconds)
            {
                relinquished = Environment.TickCount64;
                await RelinquishLeadershipsAsync(new Uri(monitor), server, stoppingToken);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Asks this site's own server to step down from every stream and bucket it leads.</summary>
    private async Task RelinquishLeadershipsAsync(Uri monitor, string server, CancellationToken cancellationToken)
    {
        try
        {
            var jsz = await _http.GetFromJsonAsync<JetStreamReport>(new Uri(monitor, "jsz?accounts=true&streams=true"), cancellationToken);
            var led = (jsz?.Accounts ?? []).SelectMany(a => a.Streams ?? []).Where(s => s.Cluster?.Leader == server).ToList();
            if (led.Count == 0)
            {
                return;
            }

            // Its own connection, to the local server only: the node's may have moved to another site, whose
            // leaders are the real ones. Streams of other accounts are not found through it and stay as they are.
            _local ??= new NatsConnection(nats.ToOpts() with { Url = nats.Urls[0], Name = $"{nats.ClientName}-quorum" });
            var answers = await Task.WhenAll(led.Select(async stream =>
            {
                // Evacuating, the leadership goes to a named replica at another site that is caught up: were the
                // request to reach a leader elected elsewhere a moment before, a plain stepdown could hand it back
                // here. Cut off, no other replica is reachable, and a plain stepdown is all there is.
                var successor = _evacuating && !_isolated
                    ? stream.Cluster?.Replicas?.Where(r => !r.Offline).OrderBy(r => r.Lag).FirstOrDefault()?.Name
                    : null;
                var request = successor is null ? [] : System.Text.Encoding.UTF8.GetBytes($"{{\"placement\":{{\"preferred\":\"{successor}\"}}}}");
                try
                {
                    var reply = await _local.RequestAsync<byte[], byte[]>($"$JS.API.STREAM.LEADER.STEPDOWN.{stream.Name}", request, cancellationToken: cancellationToken);
                    return reply.Data is { } data && System.Text.Encoding.UTF8.GetString(data).Contains("\"success\":true", StringComparison.Ordinal);
                }
                catch (NatsException)
                {
                    return false;
                }
            }));
            LogRelinquished(answers.Count(a => a), led.Count);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or NatsException && !cancellationToken.IsCancellationRequested)
        {
            // Asked again on the next round while the cut lasts.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cut off or evacuating: this site's server stepped down from {Done} of the {Led} streams and buckets it still led.")]
    private partial void LogRelinquished(int done, int led);

    private void Set(bool isolated, int? sites)
    {
        if (isolated == _isolated)
        {
            return;
        }

        _isolated = isolated;
        if (isolated)
        {
            IsolatedSince = time.GetUtcNow();
            logger.LogWarning("This site's server reaches {Sites} of {Total} sites: cut off, refusing requests until the links return.", sites, nats.Urls.Count);
            EndRequestsUnderWay();
        }
        else
        {
            logger.LogWarning("This site reaches a majority of the sites again: serving.");
        }
    }

    /// <summary>Ends every request and socket under way (they link to <see cref="WhileConnected"/>).</summary>
    private void EndRequestsUnderWay()
    {
        CancellationTokenSource ended;
        lock (_gate)
        {
            ended = _connected;
            _connected = new CancellationTokenSource();
        }

        ended.Cancel();
        ended.Dispose();
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            _isolated ? HealthCheckResult.Unhealthy("This site is cut off from a majority of the sites.")
            : _evacuating ? HealthCheckResult.Unhealthy("This site is being evacuated.")
            : HealthCheckResult.Healthy());

    /// <summary>
    /// What a cut-off site refuses: every request that reads or writes the store (the APIs, the login
    /// provider's endpoints and pages, client administration). Static files, health, the signing keys'
    /// document (a relying party's copy of the keys) stay served.
    /// </summary>
    private static readonly string[] FencedPaths = ["/api", "/connect", "/login", "/admin"];

    /// <summary>The operator's switch for evacuation stays reachable (it touches no store).</summary>
    public const string EvacuationPath = "/admin/evacuation";

    /// <summary>The fence: requests to the store are refused while cut off, and those under way end when the cut is found.</summary>
    public async Task FenceAsync(HttpContext http, RequestDelegate next)
    {
        // The status API's reads answer anyway: with the last state this node knew, saying how old it is.
        if (!FencedPaths.Any(prefix => http.Request.Path.StartsWithSegments(prefix)) || http.Request.Path.StartsWithSegments(EvacuationPath)
            || (http.Request.Path.StartsWithSegments("/api/status") && HttpMethods.IsGet(http.Request.Method)))
        {
            await next(http);
            return;
        }

        if (Fenced)
        {
            http.Response.Headers.RetryAfter = "1";
            await (_isolated
                ? Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "This site is cut off", detail: "this site cannot reach the other sites; try another site")
                : Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "This site is being evacuated", detail: "this site is closing (a fire alarm); try another site"))
                .ExecuteAsync(http);
            return;
        }

        using var abort = WhileConnected.Register(http.Abort);
        await next(http);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_local is not null)
        {
            await _local.DisposeAsync();
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        _connected.Dispose();
        base.Dispose();
    }

    private sealed record Routez(
        [property: JsonPropertyName("server_name")] string? ServerName,
        [property: JsonPropertyName("routes")] IReadOnlyList<Route>? Routes);

    private sealed record Route([property: JsonPropertyName("remote_id")] string? RemoteId);
}
