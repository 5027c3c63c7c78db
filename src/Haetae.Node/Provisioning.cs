using Haetae.Store;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Node;

/// <summary>
/// Provisions the replicated assets at start-up, retrying until the store answers. The node is not
/// ready until this has succeeded once, but it starts (and answers /healthz) without waiting, so a
/// node whose site's server is still electing a leader does not crash-loop.
/// </summary>
internal sealed partial class Provisioning(INatsConnection connection, INatsJSContext js, ILogger<Provisioning> logger) : BackgroundService
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsDone => _done.Task.IsCompletedSuccessfully;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var attempt = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            attempt++;
            try
            {
                // Ask with the short timeout first: before the meta leader is elected nothing answers, and
                // the provisioning calls' long timeout would then delay readiness by that much.
                await js.GetAccountInfoAsync(stoppingToken);
                await AssetProvisioner.ProvisionAsync((NatsConnection)connection, stoppingToken);
                LogProvisioned(attempt);
                _done.TrySetResult();
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogRetry(attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * attempt, 1000)), stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replicated assets provisioned (attempt {Attempt})")]
    private partial void LogProvisioned(int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provisioning attempt {Attempt} failed, retrying: {Reason}")]
    private partial void LogRetry(int attempt, string reason);
}
