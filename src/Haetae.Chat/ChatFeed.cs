using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Realtime;
using Haetae.Platform.Store;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Haetae.Chat;

/// <summary>
/// The node's view of everything happening in every chat: one ordered consumer per chat shard (new
/// messages, from whichever site they were written at) and a watch on the receipt cursors. It hands each
/// event to the devices connected to this node that follow the chat (the kit's <see cref="DeviceHub{TEvent}"/>). A feed that breaks (its server
/// burned) starts again after the last message it saw; devices fill any gap themselves by sequence.
/// </summary>
internal sealed partial class ChatFeed(INatsJSContext js, Buckets buckets, Messages messages, DeviceHub<DeviceEvent> hub, ILogger<ChatFeed> logger) : BackgroundService, IHealthCheck
{
    private readonly TaskCompletionSource _following = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _shardsFollowed;

    /// <summary>
    /// Completes once every shard has a consumer: from then on every message written reaches this node's
    /// devices. A device session waits for it before it goes live, or a message written between its catch-up
    /// and the feed's start would reach it only on its next resume.
    /// </summary>
    public Task Following => _following.Task;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Following.IsCompleted ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"The chat feed follows {Volatile.Read(ref _shardsFollowed)} of {Assets.ChatShards} shards."));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Assets.ChatShards).Select(s => FollowShardAsync(s, stoppingToken)).Append(FollowReceiptsAsync(stoppingToken)));

    /// <summary>How often a shard's feed is compared with the shard's newest message; a feed behind it and not moving for that long is started again.</summary>
    private static readonly TimeSpan StallCheck = TimeSpan.FromSeconds(2);

    private async Task FollowShardAsync(int shard, CancellationToken stoppingToken)
    {
        ulong? lastSeen = null;
        var followed = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            using var stalled = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            try
            {
                // From the shard's end at start-up, then always from just after the last message seen, so a
                // feed that breaks and starts again skips nothing.
                lastSeen ??= (await js.GetStreamAsync(Assets.ChatStream(shard), cancellationToken: stoppingToken)).Info.State.LastSeq;
                var opts = new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = lastSeen.Value + 1 };
                var consumer = await js.CreateOrderedConsumerAsync(Assets.ChatStream(shard), opts, stoppingToken);
                if (!followed)
                {
                    followed = true;
                    if (Interlocked.Increment(ref _shardsFollowed) == Assets.ChatShards)
                    {
                        _following.TrySetResult();
                    }
                }

                _ = WatchForStallAsync(shard, () => lastSeen ?? 0, stalled);
                await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: stalled.Token))
                {
                    lastSeen = msg.Metadata?.Sequence.Stream ?? lastSeen;
                    if (msg.Data is null)
                    {
                        continue;
                    }

                    if (msg.Subject.StartsWith("members.", StringComparison.Ordinal))
                    {
                        var added = JsonSerializer.Deserialize<MembersAdded>(msg.Data, HaetaeJson.Options);
                        foreach (var user in added?.UserIds ?? [])
                        {
                            hub.PublishToUser(user, new DeviceEvent.Joined(added!));
                        }

                        continue;
                    }

                    var message = JsonSerializer.Deserialize<MessageView>(msg.Data, HaetaeJson.Options);
                    if (message is null)
                    {
                        continue;
                    }

                    messages.Observe(message.ChatId, message.Sequence);
                    var devices = new HashSet<DeviceQueue<DeviceEvent>>(hub.FollowersOf(message.ChatId));
                    if (message.Kind == MessageKind.Joined)
                    {
                        foreach (var user in message.UserIds ?? [])
                        {
                            devices.UnionWith(hub.DevicesOf(user));
                        }
                    }

                    foreach (var device in devices)
                    {
                        device.Offer(new DeviceEvent.NewMessage(message));
                    }
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogFeedBroken(shard, stalled.IsCancellationRequested ? "it stopped delivering while the shard grew" : e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
            }
            finally
            {
                await stalled.CancelAsync();
            }
        }
    }

    /// <summary>
    /// An ordered consumer lives on one replica; after a partition heals, one was seen to stay silent while
    /// its shard grew (phones at two sites missed a chat's messages for good). So the feed is compared with
    /// the shard's newest message (from the leader); behind it and not moving for <see cref="StallCheck"/>
    /// twice in a row, the consumer is dropped and the feed follows again from the last message it saw.
    /// </summary>
    private async Task WatchForStallAsync(int shard, Func<ulong> seen, CancellationTokenSource stalled)
    {
        using var tick = new PeriodicTimer(StallCheck);
        var suspect = false;
        var before = seen();
        try
        {
            while (await tick.WaitForNextTickAsync(stalled.Token))
            {
                var now = seen();
                StoredEntry? newest;
                try
                {
                    newest = await DirectReads.GetLastFromLeaderAsync(js.Connection, Assets.ChatStream(shard), ">", stalled.Token);
                }
                catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException or System.Text.Json.JsonException)
                {
                    // Not answered this time (the store is electing): nothing to decide, ask again next tick.
                    continue;
                }

                var stuck = now == before && newest is not null && newest.Sequence > now;
                if (stuck && suspect)
                {
                    await stalled.CancelAsync();
                    return;
                }

                suspect = stuck;
                before = now;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The feed ended.
        }
    }

    private Task FollowReceiptsAsync(CancellationToken stoppingToken) => ResilientWatch.RunAsync(
        async ct =>
        {
            var store = await buckets.Context.GetStoreAsync(Assets.ChatsBucket, ct);
            await foreach (var entry in store.WatchAsync<byte[]>("cursor.>", opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: ct))
            {
                if (entry.Operation != NatsKVOperation.Put || entry.Value is null)
                {
                    continue;
                }

                var parts = entry.Key.Split('.');
                var cursor = JsonSerializer.Deserialize<Cursor>(entry.Value, HaetaeJson.Options);
                if (parts.Length == 3 && cursor is not null)
                {
                    hub.Publish(parts[1], new DeviceEvent.CursorMoved(new ReceiptEvent(parts[1], parts[2], cursor.Delivered, cursor.Read)));
                }
            }
        },
        stoppingToken,
        e => LogFeedBroken(-1, e.Message));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat feed of shard {Shard} broke, following again: {Reason}")]
    private partial void LogFeedBroken(int shard, string reason);
}
