using System.Collections.Concurrent;
using Haetae.Platform.Store;

namespace Haetae.Platform.Identity;

/// <summary>
/// The cache the request path reads on every request: signed-out sessions. A sign-out reaches every
/// node's copy within the watch's delivery time (milliseconds); the person who signed out no longer holds
/// the session, so no one reads their own write as missing. What lasts as long as a session (a device's
/// realtime connection) is told of its sign-out as the watch sees it (<see cref="OnSignOut"/>), instead of
/// each asking every few seconds: ten thousand idle devices cost the node nothing at rest.
/// </summary>
public sealed class HotCaches : Microsoft.Extensions.Hosting.BackgroundService
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<long, Action>> _followers = new(StringComparer.Ordinal);
    private long _next;

    public HotCaches(Buckets buckets)
    {
        Revocations = new(buckets, Haetae.Contracts.Assets.SessionsBucket, IdentityKeys.RevokedPrefix);
        Revocations.Put += (key, _) => SignedOut(key[IdentityKeys.RevokedPrefix.Length..]);
        // A watch that starts again may have missed sign-outs meanwhile: every followed session is asked once.
        Revocations.Watching += () =>
        {
            foreach (var session in _followers.Keys)
            {
                _ = AskAsync(session);
            }
        };
    }

    public BucketCache<RevokedSession> Revocations { get; }

    /// <summary>Calls <paramref name="signedOut"/> (once, on another thread) when <paramref name="session"/> is signed out, or at once if it is already; dispose to stop following.</summary>
    public IDisposable OnSignOut(string session, Action signedOut)
    {
        var id = Interlocked.Increment(ref _next);
        _followers.GetOrAdd(session, _ => new ConcurrentDictionary<long, Action>())[id] = signedOut;
        _ = AskAsync(session);
        return new Following(this, session, id);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Revocations.RunAsync(stoppingToken);

    private async Task AskAsync(string session)
    {
        try
        {
            if (await Revocations.GetAsync(IdentityKeys.Revoked(session), CancellationToken.None) is not null)
            {
                SignedOut(session);
            }
        }
        catch (Exception e) when (StoreFailures.IsTransient(e))
        {
            // The store did not answer: the next watch start asks again, and the watch tells of a sign-out as it comes.
        }
    }

    private void SignedOut(string session)
    {
        if (_followers.TryGetValue(session, out var actions))
        {
            foreach (var action in actions.Values)
            {
                _ = Task.Run(action);
            }
        }
    }

    private sealed class Following(HotCaches caches, string session, long id) : IDisposable
    {
        public void Dispose()
        {
            if (caches._followers.TryGetValue(session, out var actions) && actions.TryRemove(id, out _) && actions.IsEmpty)
            {
                caches._followers.TryRemove(new KeyValuePair<string, ConcurrentDictionary<long, Action>>(session, actions));
            }
        }
    }
}
