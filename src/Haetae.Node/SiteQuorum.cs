using System.Text.Json.Serialization;
using Haetae.Store;
using Microsoft.Extensions.Diagnostics.HealthChecks;

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
/// </summary>
internal sealed class SiteQuorum(NatsSettings nats, ILogger<SiteQuorum> logger) : BackgroundService, IHealthCheck
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(1) };
    private readonly Lock _gate = new();
    private CancellationTokenSource _connected = new();
    private volatile bool _isolated;

    /// <summary>True while this site's server reaches fewer than a majority of the sites.</summary>
    public bool IsIsolated => _isolated;

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
        using var timer = new PeriodicTimer(PollInterval);
        do
        {
            int? sites = null;
            try
            {
                var answer = await _http.GetFromJsonAsync<Routez>(routez, stoppingToken);
                sites = 1 + (answer?.Routes ?? []).Select(r => r.RemoteId).Distinct().Count();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !stoppingToken.IsCancellationRequested)
            {
                // The local server is not answering: it is down, and the store connection has moved to
                // another site. That is a fire, not a cut, and the node keeps serving through the others.
            }

            Set(sites is { } seen && seen < majority, sites);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private void Set(bool isolated, int? sites)
    {
        if (isolated == _isolated)
        {
            return;
        }

        CancellationTokenSource? cut = null;
        lock (_gate)
        {
            _isolated = isolated;
            if (isolated)
            {
                cut = _connected;
                _connected = new CancellationTokenSource();
            }
        }

        if (isolated)
        {
            logger.LogWarning("This site's server reaches {Sites} of {Total} sites: cut off, refusing requests until the links return.", sites, nats.Urls.Count);
            cut!.Cancel();
            cut.Dispose();
        }
        else
        {
            logger.LogWarning("This site reaches a majority of the sites again: serving.");
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_isolated
            ? HealthCheckResult.Unhealthy("This site is cut off from a majority of the sites.")
            : HealthCheckResult.Healthy());

    /// <summary>
    /// What a cut-off site refuses: every request that reads or writes the store (the APIs, the login
    /// provider's endpoints and pages, client administration). Static files, health, the signing keys'
    /// document (a relying party's copy of the keys) stay served.
    /// </summary>
    private static readonly string[] Fenced = ["/api", "/connect", "/login", "/admin"];

    /// <summary>The fence: requests to the store are refused while cut off, and those under way end when the cut is found.</summary>
    public async Task FenceAsync(HttpContext http, RequestDelegate next)
    {
        if (!Fenced.Any(prefix => http.Request.Path.StartsWithSegments(prefix)))
        {
            await next(http);
            return;
        }

        if (_isolated)
        {
            http.Response.Headers.RetryAfter = "1";
            await Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "This site is cut off",
                detail: "this site cannot reach the other sites; try another site").ExecuteAsync(http);
            return;
        }

        using var abort = WhileConnected.Register(http.Abort);
        await next(http);
    }

    public override void Dispose()
    {
        _http.Dispose();
        _connected.Dispose();
        base.Dispose();
    }

    private sealed record Routez([property: JsonPropertyName("routes")] IReadOnlyList<Route>? Routes);

    private sealed record Route([property: JsonPropertyName("remote_id")] string? RemoteId);
}
