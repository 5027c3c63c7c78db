using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Platform.Store;

/// <summary>
/// Provisions the replicated assets at start-up, retrying until the store answers. The node is not
/// ready until this has succeeded once, but it starts (and answers /healthz) without waiting, so a
/// node whose site's server is still electing a leader does not crash-loop.
/// </summary>
public sealed partial class Provisioning(INatsConnection connection, INatsJSContext js, AssetCatalog catalog, ILogger<Provisioning> logger) : BackgroundService
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsDone => _done.Task.IsCompletedSuccessfully;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var attempt = 0;
        try
        {
            await StoreRetry.UntilDone.ExecuteAsync(
                async ct =>
                {
                    attempt++;
                    try
                    {
                        // Ask with the short timeout first: before the meta leader is elected nothing answers, and
                        // the provisioning calls' long timeout would then delay readiness by that much.
                        await js.GetAccountInfoAsync(ct);
                        await AssetProvisioner.ProvisionAsync((NatsConnection)connection, catalog.All, ct);
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        LogRetry(attempt, e.Message);
                        throw;
                    }
                },
                stoppingToken);
            LogProvisioned(attempt);
            _done.TrySetResult();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replicated assets provisioned (attempt {Attempt})")]
    private partial void LogProvisioned(int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provisioning attempt {Attempt} failed, retrying: {Reason}")]
    private partial void LogRetry(int attempt, string reason);
}
