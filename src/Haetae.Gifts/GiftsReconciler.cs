using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Gifts;

/// <summary>
/// On every node: every <see cref="SalesInterval"/>, sales cut short are finished (or undone, when pay
/// refuses the payment); every <see cref="ExpiryInterval"/>, live vouchers past their validity are
/// refunded. Nodes may do the same one at once: the ids and the ledger make each step happen once.
/// </summary>
internal sealed partial class GiftsReconciler(Vouchers vouchers, GiftStore store, TimeProvider time, ILogger<GiftsReconciler> logger) : BackgroundService
{
    public static readonly TimeSpan SalesInterval = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan ExpiryInterval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var tick = new PeriodicTimer(SalesInterval, time);
        var lastExpiryPass = DateTimeOffset.MinValue;
        while (await tick.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PassAsync("issuing.>", vouchers.FinishSaleAsync, stoppingToken);
                if (time.GetUtcNow() - lastExpiryPass >= ExpiryInterval)
                {
                    lastExpiryPass = time.GetUtcNow();
                    await PassAsync("live.>", vouchers.ExpireAsync, stoppingToken);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // An outage: the next pass asks again.
                LogPassFailed(e.Message);
            }
        }
    }

    private async Task PassAsync(string filter, Func<VoucherRecord, CancellationToken, Task> step, CancellationToken cancellationToken)
    {
        var bucket = await store.BucketAsync();
        await foreach (var key in bucket.KeysAsync(filter, cancellationToken))
        {
            if (await bucket.TryGetAsync(new Key<VoucherRecord>(key), cancellationToken) is { Value: var voucher })
            {
                await step(voucher, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gifts reconciliation pass stopped early: {Reason}")]
    private partial void LogPassFailed(string reason);
}
