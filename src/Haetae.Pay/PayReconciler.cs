using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Pay;

/// <summary>
/// On every node, every <see cref="Interval"/>: each open task (<see cref="PayTask"/>) is looked at and
/// settled if it is due (<see cref="Wallets.ReconcileAsync"/>). Nodes may settle the same task at once;
/// the ledger writes each settlement once.
/// </summary>
internal sealed partial class PayReconciler(Wallets wallets, Buckets buckets, TimeProvider time, ILogger<PayReconciler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var tick = new PeriodicTimer(Interval, time);
        while (await tick.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var tasks = await buckets.GetAsync(Wallets.TasksBucket);
                await foreach (var key in tasks.KeysAsync("task.>", stoppingToken))
                {
                    if (await tasks.TryGetAsync(new Key<PayTask>(key), stoppingToken) is { Value: var task })
                    {
                        await wallets.ReconcileAsync(task, stoppingToken);
                    }
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // An outage or a refusal of one task: the next pass asks again.
                LogPassFailed(e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pay reconciliation pass stopped early: {Reason}")]
    private partial void LogPassFailed(string reason);
}
