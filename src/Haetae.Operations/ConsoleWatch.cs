using System.Collections.Concurrent;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Operations;

/// <summary>
/// Takes the node's readings of the platform (<see cref="PlatformWatch"/>), keeps the latest for the
/// console, and records each site lost or back and each loss or return of full redundancy in the
/// replicated console bucket. Every node records what it sees; a transition already recorded by another
/// node is not recorded twice.
/// </summary>
internal sealed partial class ConsoleWatch(PlatformWatch watch, Buckets buckets, ILogger<ConsoleWatch> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, bool> _up = new();
    private bool? _redundant;
    private bool _degradedSeen;
    private readonly List<ConsoleEvent> _pending = [];

    /// <summary>The events so far, newest last, in the replicated console bucket (events), so every surviving site shows the same history.</summary>
    private readonly CappedEventLog<ConsoleEvent> _log = new(buckets, Assets.ConsoleBucket, "events", Kept, e => e.Site, e => e.Kind);

    /// <summary>How many events the console keeps.</summary>
    public const int Kept = 200;

    public ClusterStatus? Latest => watch.Latest?.Status;

    public DateTimeOffset LatestAt => watch.Latest?.At ?? default;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var reading = await watch.NextAsync(stoppingToken);
            try
            {
                await RecordTransitionsAsync(reading.Status, reading.At, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogRecordFailed(e.Message);
            }
        }
    }

    private async Task RecordTransitionsAsync(ClusterStatus status, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var found = new List<ConsoleEvent>();
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Recording the console's events failed: {Reason}")]
    private partial void LogRecordFailed(string reason);
}
