using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Haetae.Contracts;
using Haetae.Platform.Identity;

namespace Haetae.Chat;

/// <summary>Something for a device, one of a closed set.</summary>
internal abstract record DeviceEvent
{
    private DeviceEvent()
    {
    }

    /// <summary>A message of a chat the device may follow.</summary>
    public sealed record NewMessage(MessageView Message) : DeviceEvent;

    /// <summary>A member's cursors moved.</summary>
    public sealed record CursorMoved(ReceiptEvent Receipt) : DeviceEvent;

    /// <summary>People were added to a chat (maybe this device's user).</summary>
    public sealed record Joined(MembersAdded Added) : DeviceEvent;

    /// <summary>A user whose profile this device's user may now see differently.</summary>
    public sealed record ProfileChanged(string Owner) : DeviceEvent;
}

/// <summary>
/// One connected device. It first catches up every chat from the sequence the device says it saw last,
/// then forwards live events; per chat it sends each sequence once and in order, fetching any gap from
/// the store, so a device that reconnects anywhere misses nothing and sees nothing twice.
/// </summary>
internal sealed class DeviceSession(
    string userId, string sessionId, DateTimeOffset expiresAt, WebSocket socket, Chats chats, Messages messages, ChatFeed feed, CursorWriter cursors, Accounts accounts, Profiles profiles)
{
    /// <summary>Devices one person may have connected to one node.</summary>
    public const int MaxPerUser = 10;

    /// <summary>A frame the device does not take within this time ends the session (it resumes when it reads again).</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    public const int MaxQueued = 10_000;


    private readonly Channel<DeviceEvent> _events = Channel.CreateBounded<DeviceEvent>(new BoundedChannelOptions(MaxQueued) { SingleReader = true });
    private readonly Dictionary<string, long> _lastSent = [];
    private readonly Dictionary<string, UserView> _profilesSent = [];

    /// <summary>Queues an event; a device too slow to keep up is disconnected, and catches up when it resumes.</summary>
    public void Offer(DeviceEvent e)
    {
        if (!_events.Writer.TryWrite(e))
        {
            _events.Writer.TryComplete(new ChannelClosedException("the device fell too far behind"));
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lifetime = expiresAt - DateTimeOffset.UtcNow;
        closing.CancelAfter(lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero);
        feed.Connect(userId, this);
        _ = EndOnSignOutAsync(closing);
        try
        {
            var resume = await ReadResumeAsync(closing.Token);
            var receiving = DrainIncomingAsync(closing);
            // Follow every chat first, then catch up: a message that lands meanwhile is queued, not missed.
            // Only ids and sequences are needed here, not the chats' views (members, profiles, cursors).
            var mine = await chats.MembershipsAsync(userId, closing.Token);
            foreach (var chat in mine)
            {
                var last = await messages.LastSequenceAsync(chat.Id, closing.Token);
                feed.Follow(chat.Id, this);
                // A new device (no resume map) starts from now; one that lists its chats has not heard of those it leaves out.
                _lastSent[chat.Id] = resume is null ? last : Math.Clamp(resume.GetValueOrDefault(chat.Id), 0, last);
            }

            foreach (var chat in mine)
            {
                await CatchUpAsync(chat.Id, await messages.LastSequenceAsync(chat.Id, closing.Token), closing.Token);
            }

            await SendAsync(new LiveFrame(new Dictionary<string, long>(_lastSent)), closing.Token);
            await foreach (var e in _events.Reader.ReadAllAsync(closing.Token))
            {
                await HandleAsync(e, closing.Token);
            }

            await receiving;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ChannelClosedException)
        {
            // The device went away or fell behind; it resumes by sequence when it comes back.
        }
        finally
        {
            feed.Disconnect(userId, this, _lastSent.Keys);
            await closing.CancelAsync();
        }
    }

    private async Task HandleAsync(DeviceEvent e, CancellationToken cancellationToken)
    {
        if (e is DeviceEvent.ProfileChanged { Owner: var owner })
        {
            // Resolved for this device's own user, now; sent only when it differs from what this device last got.
            if (await profiles.ViewAsync(owner, userId, cancellationToken) is { } view && _profilesSent.GetValueOrDefault(owner) != view)
            {
                await SendAsync(new ProfileFrame(view), cancellationToken);
                _profilesSent[owner] = view;
            }

            return;
        }

        if (e is DeviceEvent.Joined { Added: var added })
        {
            if (!_lastSent.ContainsKey(added.ChatId) && added.UserIds.Contains(userId))
            {
                // A chat started with this person while connected: follow it from its beginning.
                _lastSent[added.ChatId] = 0;
                feed.Follow(added.ChatId, this);
                await CatchUpAsync(added.ChatId, await messages.LastSequenceAsync(added.ChatId, cancellationToken), cancellationToken);
            }

            return;
        }

        if (e is DeviceEvent.CursorMoved { Receipt: var receipt })
        {
            if (_lastSent.ContainsKey(receipt.ChatId))
            {
                await SendAsync(new ReceiptFrame(receipt), cancellationToken);
            }

            return;
        }

        var message = ((DeviceEvent.NewMessage)e).Message;
        if (!_lastSent.ContainsKey(message.ChatId))
        {
            // Invited to a chat while connected: follow it from the invitation on.
            if (message.Kind != MessageKind.Joined || !(message.UserIds ?? []).Contains(userId))
            {
                return;
            }

            _lastSent[message.ChatId] = message.Sequence - 1;
            feed.Follow(message.ChatId, this);
        }

        if (message.Sequence == _lastSent[message.ChatId] + 1)
        {
            // The usual case: the next one, as the feed brought it; no need to read it back.
            await SendAsync(new MessageFrame(message), cancellationToken);
            _lastSent[message.ChatId] = message.Sequence;
            cursors.Advance(message.ChatId, userId, message.Sequence, 0);
        }
        else
        {
            await CatchUpAsync(message.ChatId, message.Sequence, cancellationToken);
        }

        if (message.Kind == MessageKind.Left && (message.UserIds ?? []).Contains(userId))
        {
            feed.Unfollow(message.ChatId, this);
            _lastSent.Remove(message.ChatId);
        }
    }

    /// <summary>Sends every message of the chat after the last one sent, up to <paramref name="upTo"/>.</summary>
    private async Task CatchUpAsync(string chatId, long upTo, CancellationToken cancellationToken)
    {
        var sent = _lastSent[chatId];
        while (sent < upTo)
        {
            var page = await messages.RangeAsync(chatId, sent + 1, Math.Min(upTo, sent + Messages.MaxPage), cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            foreach (var message in page)
            {
                await SendAsync(new MessageFrame(message), cancellationToken);
            }

            sent = page[^1].Sequence;
            _lastSent[chatId] = sent;
        }

        if (sent > 0)
        {
            cursors.Advance(chatId, userId, sent, 0);
        }
    }

    private async Task<IReadOnlyDictionary<string, long>?> ReadResumeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        if (result.MessageType != WebSocketMessageType.Text || !result.EndOfMessage)
        {
            await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "the first frame must be a resume frame of at most 64 KiB", cancellationToken);
            throw new OperationCanceledException();
        }

        try
        {
            var frame = JsonSerializer.Deserialize<ResumeFrame>(buffer.AsSpan(0, result.Count), HaetaeJson.Options);
            return frame?.Type == "resume" ? frame.Chats : throw new JsonException("not a resume frame");
        }
        catch (JsonException)
        {
            await socket.CloseAsync(WebSocketCloseStatus.InvalidPayloadData, "the first frame must be {\"type\":\"resume\",\"chats\":{...}}", cancellationToken);
            throw new OperationCanceledException();
        }
    }

    /// <summary>The device sends nothing after resuming; reading notices when it closes.</summary>
    private async Task DrainIncomingAsync(CancellationTokenSource closing)
    {
        var buffer = new byte[4096];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, closing.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }

        _events.Writer.TryComplete();
        await closing.CancelAsync();
    }

    private async Task SendAsync(RealtimeFrame frame, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SendTimeout);
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes<RealtimeFrame>(frame, HaetaeJson.Options), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>A signed-out session loses its open sockets too (checked against the node's cache of sign-outs).</summary>
    private async Task EndOnSignOutAsync(CancellationTokenSource closing)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await tick.WaitForNextTickAsync(closing.Token))
            {
                if (await accounts.IsRevokedAsync(sessionId, closing.Token))
                {
                    await closing.CancelAsync();
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or NATS.Client.Core.NatsException or TimeoutException)
        {
        }
    }
}
