namespace Exchange;

/// <summary>
/// Fetches the provider configuration once in the background right after start-up, so that the first
/// sign-in does not wait for it and, when every site is down, the key cache file is loaded before the first
/// token arrives. Start-up itself never waits for the provider: the exchange must come up while it is down.
/// </summary>
internal sealed class ConfigurationWarmUp(MultiSiteConfigurationManager provider) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting before any network I/O.
        await Task.Yield();
        try
        {
            await provider.GetConfigurationAsync(stoppingToken);
        }
        catch (ProviderUnavailableException)
        {
            // Already logged by the manager; requests answer 503 until a site answers.
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
