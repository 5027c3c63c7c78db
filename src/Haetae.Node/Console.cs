using System.Collections.Concurrent;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Monitoring;
using Haetae.Platform.Store;

namespace Haetae.Node;

/// <summary>One thing the console shows on its timeline: a site lost or back, full redundancy lost or back.</summary>
internal sealed record ConsoleEvent(DateTimeOffset At, string Site, string Kind, string Text);


/// <summary>What the console page draws, as this node sees the platform now.</summary>
internal sealed record ConsoleView(
    string Site,
    DateTimeOffset At,
    string? MetaLeader,
    bool FullyReplicated,
    IReadOnlyList<ConsoleSite> Sites,
    IReadOnlyList<ConsoleAsset> Assets,
    IReadOnlyList<LaggingReplica> Behind,
    long ChatMessages,
    long Requests,
    long Errors,
    IReadOnlyList<ConsoleEvent> Events,
    bool Controls);

/// <param name="Server">The site's nats-server version and whether it writes to disk before acknowledging ("2.15.1, fsync").</param>
internal sealed record ConsoleSite(string Name, bool Up, bool NodeReady, int Leads, string? Health, string? Server);

internal sealed record ConsoleAsset(string Name, string? Leader, int Replicas, ulong Messages);

/// <summary>Requests and server errors this node has answered, for the console's errors-over-time chart.</summary>
internal sealed class RequestCounters
{
    private long _requests;
    private long _errors;

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    public async Task CountAsync(HttpContext http, Func<Task> next)
    {
        Interlocked.Increment(ref _requests);
        try
        {
            await next();
        }
        catch
        {
            Interlocked.Increment(ref _errors);
            throw;
        }

        if (http.Response.StatusCode >= 500)
        {
            Interlocked.Increment(ref _errors);
        }
    }
}

/// <summary>
/// Reads every site's monitoring endpoints every two seconds (the same reading as `haetae status`),
/// keeps the latest for the console, and records each site lost or back and each loss or return of
/// full redundancy in the replicated console bucket. Every node records what it sees; a transition
/// already recorded by another node is not recorded twice.
/// </summary>
internal sealed partial class ConsoleWatch(NodeOptions node, Buckets buckets, ILogger<ConsoleWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(2);
    private readonly MonitoringClient _monitoring = new();
    private readonly ConcurrentDictionary<string, bool> _up = new();
    private bool? _redundant;
    private bool _degradedSeen;
    private readonly List<ConsoleEvent> _pending = [];

    /// <summary>The events so far, newest last, in the replicated console bucket (events), so every surviving site shows the same history.</summary>
    private readonly CappedEventLog<ConsoleEvent> _log = new(buckets, Assets.ConsoleBucket, "events", Kept, e => e.Site, e => e.Kind);

    /// <summary>How many events the console keeps.</summary>
    public const int Kept = 200;

    public ClusterStatus? Latest { get; private set; }

    public DateTimeOffset LatestAt { get; private set; }

    public PlatformDescription Platform => new("", 0, [.. node.Sites.Select(s => new SiteDescription(s, SiteState.Running, []))]);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (node.Sites.Count == 0)
        {
            return;
        }

        using var tick = new PeriodicTimer(Every);
        do
        {
            try
            {
                var status = await ClusterStatus.ReadAsync(Platform, _monitoring, checkNodes: true, stoppingToken);
                Latest = status;
                LatestAt = DateTimeOffset.UtcNow;
                await RecordTransitionsAsync(status, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogReadFailed(e.Message);
            }
        }
        while (await tick.WaitForNextTickAsync(stoppingToken));
    }

    private async Task RecordTransitionsAsync(ClusterStatus status, CancellationToken cancellationToken)
    {
        var found = new List<ConsoleEvent>();
        var now = DateTimeOffset.UtcNow;
        foreach (var site in status.Sites)
        {
            var up = site.ServerAnswers;
            if (_up.TryGetValue(site.Name, out var was) && was != up)
            {
                found.Add(new ConsoleEvent(now, site.Name, up ? "back" : "lost", up ? $"{site.Name} is back" : $"{site.Name} stopped answering (fire?)"));
            }

            _up[site.Name] = up;
        }

        // Start-up (not yet replicated, then replicated) is not news: only a loss seen here, and its end.
        if (_redundant == true && !status.FullyReplicated)
        {
            found.Add(new ConsoleEvent(now, "platform", "degraded", "full redundancy lost"));
            _degradedSeen = true;
        }
        else if (_redundant == false && status.FullyReplicated && _degradedSeen)
        {
            found.Add(new ConsoleEvent(now, "platform", "redundant", "full redundancy is back"));
        }

        _redundant = status.FullyReplicated;

        // Kept until stored: a fire often takes the console bucket's leader with it, and the write
        // waits for the election (the next tick tries again).
        _pending.AddRange(found);
        await _log.AppendAsync(_pending, cancellationToken);
        _pending.Clear();
    }

    public Task<IReadOnlyList<ConsoleEvent>> EventsAsync(CancellationToken cancellationToken) => _log.ReadAsync(cancellationToken);

    public override void Dispose()
    {
        _monitoring.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the platform's monitoring failed: {Reason}")]
    private partial void LogReadFailed(string reason);
}

/// <summary>The console's API: the platform as this node sees it, and (local platforms only) fire and rebuild.</summary>
internal static class ConsoleApi
{
    public static void MapConsoleApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/sites", (NodeOptions node) => TypedResults.Ok(new
        {
            site = node.Site,
            sites = node.Sites.Select(s => new { name = s.Name, url = s.NodeUri.ToString().TrimEnd('/') }),
        }));

        app.MapGet("/api/console", async (NodeOptions node, ConsoleWatch watch, RequestCounters counters, HttpContext http, CancellationToken ct) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            var status = watch.Latest;
            IReadOnlyList<ConsoleEvent> events;
            try
            {
                events = await watch.EventsAsync(ct);
            }
            catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException)
            {
                // An election in the console bucket: the page keeps the events it has.
                events = [];
            }

            return TypedResults.Ok(new ConsoleView(
                node.Site,
                watch.LatestAt,
                status?.MetaLeader,
                status?.FullyReplicated ?? false,
                [.. (status?.Sites ?? []).Select(s => new ConsoleSite(s.Name, s.ServerAnswers, s.NodeReady, s.StreamLeaders + s.KvLeaders + s.ObjectStoreLeaders, s.ServerHealth?.Error,
                    s.ServerVersion is null ? null : $"{s.ServerVersion}, {(s.SyncAlways == true ? "fsync" : "lazy fsync")}"))],
                [.. (status?.Assets ?? []).Select(a => new ConsoleAsset(a.Stream, a.Leader, a.Peers.Distinct().Count(), a.Messages))],
                status?.Behind ?? [],
                (long)(status?.Assets ?? []).Where(a => a.Stream.StartsWith("CHAT_", StringComparison.Ordinal)).Sum(a => (decimal)a.Messages),
                counters.Requests,
                counters.Errors,
                events,
                node.ControlSocket is not null));
        });

        app.MapPost("/api/console/sites/{site}/{action}", (string site, string action, NodeOptions node, ILogger<ConsoleWatch> log) =>
        {
            if (node.ControlSocket is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No controls", detail: "evacuate, fire and rebuild are offered only by a local platform started with ./haetae up");
            }

            if (action is not ("evacuate" or "fire" or "rebuild"))
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "the actions are evacuate, fire and rebuild");
            }

            if (node.Sites.All(s => s.Name != site))
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"no site '{site}'");
            }

            // A rebuild takes until full redundancy, and a fire may burn this very node: answer now, act after.
            _ = Task.Run(async () =>
            {
                try
                {
                    await ControlClient.SendAsync(node.ControlSocket, new ControlRequest(action, site), CancellationToken.None);
                }
                catch (PlatformException e)
                {
                    log.LogWarning("Console {Action} of {Site} refused: {Reason}", action, site, e.Message);
                }
            });
            return Results.Accepted();
        }).DisableAntiforgery();
    }
}

/// <summary>The operations console: the platform as this node sees it, and the events every site shares.</summary>
internal sealed class ConsoleModule : IHaetaeModule
{
    public string Name => "console";

    public IReadOnlyList<Asset> Assets { get; } = [.. Haetae.Contracts.Assets.Buckets.Where(b => b.Bucket == Haetae.Contracts.Assets.ConsoleBucket)];

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<RequestCounters>();
        services.AddSingleton<ConsoleWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<ConsoleWatch>());
    }

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapConsoleApi();
}
