using System.Collections.Concurrent;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Operations;

/// <summary>
/// Reads every site's monitoring endpoints every two seconds (the same reading as `haetae status`),
/// keeps the latest for the console, and records each site lost or back and each loss or return of
/// full redundancy in the replicated console bucket. Every node records what it sees; a transition
/// already recorded by another node is not recorded twice.
/// </summary>
internal sealed partial class ConsoleWatch(NodeOptions node, Buckets buckets, AssetCatalog catalog, TimeProvider time, ILogger<ConsoleWatch> logger) : BackgroundService
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
                var status = await ClusterStatus.ReadAsync(Platform, _monitoring, catalog, checkNodes: true, stoppingToken);
                Latest = status;
                LatestAt = time.GetUtcNow();
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
        var now = time.GetUtcNow();
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

    /// <summary>The shared events, or none while the console bucket elects a leader (the page keeps the events it has).</summary>
    public async Task<IReadOnlyList<ConsoleEvent>> TryReadEventsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _log.ReadAsync(cancellationToken);
        }
        catch (Exception e) when (StoreFailures.IsTransient(e))
        {
            return [];
        }
    }

    public override void Dispose()
    {
        _monitoring.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the platform's monitoring failed: {Reason}")]
    private partial void LogReadFailed(string reason);
}
