using Haetae.Platform.Store;

namespace Haetae.Platform.Identity;

/// <summary>
/// The cache the request path reads on every request: signed-out sessions. A sign-out reaches every
/// node's copy within the watch's delivery time (milliseconds); the person who signed out no longer holds
/// the session, so no one reads their own write as missing.
/// </summary>
public sealed class HotCaches(Buckets buckets) : Microsoft.Extensions.Hosting.BackgroundService
{
    public BucketCache<RevokedSession> Revocations { get; } = new(buckets, Haetae.Contracts.Assets.SessionsBucket, IdentityKeys.RevokedPrefix);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Revocations.RunAsync(stoppingToken);
}
