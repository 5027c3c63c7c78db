using Microsoft.Extensions.Diagnostics.HealthChecks;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Platform.Store;

/// <summary>Ready when connected, JetStream answers an account-info request, and provisioning has completed.</summary>
public sealed class StoreReadyCheck(INatsConnection connection, INatsJSContext js, Provisioning provisioning) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (connection.ConnectionState != NatsConnectionState.Open)
        {
            return HealthCheckResult.Unhealthy($"NATS connection is {connection.ConnectionState}.");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await js.GetAccountInfoAsync(timeout.Token);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("JetStream is not answering: " + e.Message);
        }

        return provisioning.IsDone
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("Replicated assets are not provisioned yet.");
    }
}
