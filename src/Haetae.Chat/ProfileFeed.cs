using System.Collections.Concurrent;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Realtime;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;

namespace Haetae.Chat;

/// <summary>
/// Pushes profile changes to connected devices. It watches every user's friend list (assignments),
/// extra profiles and account (default profile), wherever they were written, and tells the devices on
/// this node of everybody who may see that user differently now: their friends, and anyone who was a
/// friend when this node last saw the list. Each device then asks <see cref="Profiles.ViewAsync"/> what its
/// own user sees, so a push carries nothing computed for anyone else. A watch that breaks resumes after the
/// last change it saw.
/// </summary>
internal sealed partial class ProfileFeed(Buckets buckets, DeviceHub<DeviceEvent> hub, ILogger<ProfileFeed> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _lastFriends = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            WatchAsync(Assets.SocialBucket, "friends.*", stoppingToken),
            WatchAsync(Assets.SocialBucket, "profiles.*", stoppingToken),
            WatchAsync(Assets.AccountsBucket, "user.*", stoppingToken));

    private Task WatchAsync(string bucket, string keys, CancellationToken stoppingToken)
    {
        // A watch that starts again resumes just after the last change it saw, so it skips nothing.
        ulong? lastSeen = null;
        return ResilientWatch.RunAsync(
            async ct =>
            {
                var store = await buckets.Context.GetStoreAsync(bucket, ct);
                var opts = lastSeen is { } seen ? new NatsKVWatchOpts { ResumeAtRevision = seen + 1 } : new NatsKVWatchOpts { UpdatesOnly = true };
                await foreach (var entry in store.WatchAsync<byte[]>(keys, opts: opts, cancellationToken: ct))
                {
                    lastSeen = entry.Revision;
                    var owner = entry.Key[(entry.Key.IndexOf('.', StringComparison.Ordinal) + 1)..];
                    var friends = entry.Key.StartsWith("friends.", StringComparison.Ordinal) && entry.Value is { Length: > 0 } value
                        ? JsonSerializer.Deserialize<FriendList>(value, HaetaeJson.Options)?.Friends
                        : await FriendsOfAsync(owner, ct);
                    Notify(owner, friends ?? []);
                }
            },
            stoppingToken,
            e => LogWatchBroken(keys, e.Message));
    }

    private async Task<IReadOnlyList<string>> FriendsOfAsync(string owner, CancellationToken cancellationToken)
    {
        var social = await buckets.GetAsync(Assets.SocialBucket);
        return (await social.GetFromLeaderAsync(ChatKeys.Friends(owner), cancellationToken))?.Value.Friends ?? [];
    }

    private void Notify(string owner, IReadOnlyList<string> friends)
    {
        var before = _lastFriends.TryGetValue(owner, out var earlier) ? earlier : [];
        _lastFriends[owner] = friends;
        foreach (var viewer in friends.Union(before))
        {
            hub.PublishToUser(viewer, new DeviceEvent.ProfileChanged(owner));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Profile watch on {Keys} broke, watching again: {Reason}")]
    private partial void LogWatchBroken(string keys, string reason);
}
