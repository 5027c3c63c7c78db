using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Rides;

/// <summary>On every node, every <see cref="Interval"/>: <see cref="Rides.ReconcileAsync"/> (reservations undone, ended rides settled). Nodes may do the same at once: each step is idempotent.</summary>
internal sealed partial class RidesReconciler(Rides rides, TimeProvider time, ILogger<RidesReconciler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var tick = new PeriodicTimer(Interval, time);
        while (await tick.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await rides.ReconcileAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPassFailed(e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rides reconciliation pass stopped early: {Reason}")]
    private partial void LogPassFailed(string reason);
}
