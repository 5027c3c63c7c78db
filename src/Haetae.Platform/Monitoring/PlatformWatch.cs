using Haetae.Platform.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Platform.Monitoring;

/// <summary>One reading of every site's monitoring endpoints, started at <see cref="At"/> and complete at <see cref="Done"/>.</summary>
public sealed record PlatformReading(DateTimeOffset At, ClusterStatus Status, DateTimeOffset Done);

/// <summary>
/// A node's view of the platform: every site's monitoring endpoints read once a second (the same reading
/// as `haetae status`). The console and the status page take their readings from here, so a node reads
/// the platform once, whatever shows it.
/// </summary>
public sealed partial class PlatformWatch(NodeOptions node, AssetCatalog catalog, TimeProvider time, ILogger<PlatformWatch> logger) : BackgroundService
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(1);

    private readonly MonitoringClient _monitoring = new();
    private TaskCompletionSource<PlatformReading> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The sites as this node knows them (it cannot know their processes: those are the local platform's).</summary>
    public PlatformDescription Platform => new("", 0, [.. node.Sites.Select(s => new SiteDescription(s, SiteState.Running, []))]);

    /// <summary>The latest reading (null until the first).</summary>
    public PlatformReading? Latest { get; private set; }

    /// <summary>The next reading after now.</summary>
    public Task<PlatformReading> NextAsync(CancellationToken cancellationToken) => Volatile.Read(ref _next).Task.WaitAsync(cancellationToken);

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
                var at = time.GetUtcNow();
                var status = await ClusterStatus.ReadAsync(Platform, _monitoring, catalog, checkNodes: true, stoppingToken);
                var reading = new PlatformReading(at, status, time.GetUtcNow());
                Latest = reading;
                Interlocked.Exchange(ref _next, new TaskCompletionSource<PlatformReading>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(reading);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogReadFailed(e.Message);
            }
        }
        while (await tick.WaitForNextTickAsync(stoppingToken));
    }

    public override void Dispose()
    {
        _monitoring.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the platform's monitoring failed: {Reason}")]
    private partial void LogReadFailed(string reason);
}
