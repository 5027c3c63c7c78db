namespace Exchange;

/// <summary>
/// The provider configuration's background work. Right after start-up it fetches the configuration once, so that
/// the first sign-in does not wait for it and, when every site is down, the key cache file is loaded before the
/// first token arrives. Then it runs <see cref="MultiSiteConfigurationManager.WatchAsync"/> until shutdown: the
/// probe of the current site that moves sign-ins off a burned site within seconds. Start-up itself never waits
/// for the provider: the exchange must come up while it is down.
/// </summary>
internal sealed class ProviderWatch(MultiSiteConfigurationManager provider) : BackgroundService
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
            // Already logged by the manager; requests answer 503 until the watch below finds a site.
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await provider.WatchAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
