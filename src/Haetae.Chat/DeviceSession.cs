using System.Net.WebSockets;
using System.Threading.Channels;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Realtime;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Http;

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

    /// <summary>The platform's notices changed (an incident opened, moved on or ended).</summary>
    public sealed record NoticesChanged : DeviceEvent;
}

/// <summary>
/// One connected device, composed from the kit's realtime parts: it first catches up every chat from the
/// sequence the device says it saw last (<see cref="ResumeCursor"/>), then forwards live events from its
/// <see cref="DeviceQueue{TEvent}"/>; per chat it sends each sequence once and in order, fetching any gap
/// from the store, so a device that reconnects anywhere misses nothing and sees nothing twice.
/// </summary>
/// <remarks>The endpoint registers the device's inbox with the hub before it accepts the socket (so a person
/// with too many devices gets a 429, not a socket), and removes it when <see cref="RunAsync"/> ends.</remarks>
internal sealed class DeviceSession(
    string userId, DeviceQueue<DeviceEvent> inbox, DeviceSocket socket, ChatFeed feed, Chats chats, Messages messages, DeviceHub<DeviceEvent> hub, CursorWriter cursors, Profiles profiles, IPlatformNotices notices,
    Traffic traffic)
{
    /// <summary>Devices one person may have connected to one node.</summary>
    public const int MaxPerUser = 10;

    public const int MaxQueued = 10_000;

    private readonly ResumeCursor _cursor = new();
    private readonly Dictionary<string, UserView> _profilesSent = [];
    private IReadOnlyList<Notice>? _noticesSent;

    public async Task RunAsync()
    {
        try
        {
            var resume = await socket.ReadFirstAsync<ResumeFrame>(f => f.Type == "resume", "a resume frame {\"type\":\"resume\",\"chats\":{...}}");
            if (resume is null)
            {
                return;
            }

            var receiving = ReadUntilClosedAsync();
            // Messages written from here on reach this device through the node's feed, so it must be following.
            await feed.Following.WaitAsync(socket.Closing);
            // Follow every chat first, then catch up: a message that lands meanwhile is queued, not missed.
            // Only ids and sequences are needed here, not the chats' views (members, profiles, cursors).
            var mine = await chats.MembershipsAsync(userId, socket.Closing);
            foreach (var chat in mine)
            {
                var last = await messages.LastSequenceAsync(chat.Id, socket.Closing);
                hub.Follow(chat.Id, inbox);
                _cursor.Start(chat.Id, last, resume.Chats);
            }

            foreach (var chat in mine)
            {
                await CatchUpAsync(chat.Id, await messages.LastSequenceAsync(chat.Id, socket.Closing), socket.Closing);
            }

            await SendAsync(new LiveFrame(new Dictionary<string, long>(_cursor.Positions)));
            // Outages are told over the same connection: what stands now, then every change.
            notices.Changed += OnNoticesChanged;
            try
            {
                await SendNoticesAsync();
                await foreach (var e in inbox.ReadAllAsync(socket.Closing))
                {
                    await HandleAsync(e, socket.Closing);
                }
            }
            finally
            {
                notices.Changed -= OnNoticesChanged;
            }

            await receiving;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ChannelClosedException)
        {
            // The device went away or fell behind; it resumes by sequence when it comes back.
        }
        finally
        {
            await socket.CloseAsync();
        }
    }

    private void OnNoticesChanged() => inbox.Offer(new DeviceEvent.NoticesChanged());

    /// <summary>Every notice now, whenever they differ from what this device was last sent (an empty list clears its banner).</summary>
    private async Task SendNoticesAsync()
    {
        var current = notices.Current;
        if (_noticesSent is null ? current.Count > 0 : !_noticesSent.SequenceEqual(current))
        {
            await SendAsync(new NoticeFrame(current));
        }

        _noticesSent = current;
    }

    private async Task ReadUntilClosedAsync()
    {
        await socket.ReadFramesAsync<DeviceFrame>(OnFrameAsync);
        inbox.Close();
    }

    /// <summary>
    /// A send over the connection: the same call as the HTTP API's, answered on the connection in the order
    /// the sends came (a device may have many in flight; they are stored one after another). Other frames
    /// are ignored, so that a newer device can talk to an older node.
    /// </summary>
    private async Task OnFrameAsync(DeviceFrame frame)
    {
        if (frame.Type != "send")
        {
            return;
        }

        if (!RequestIds.IsValid(frame.RequestId) || frame.ChatId is null)
        {
            await SendAsync(new RefusedFrame(frame.RequestId, StatusCodes.Status400BadRequest, "Invalid request", "a send frame has a requestId (1 to 64 letters, digits, '-' or '_') and a chatId"));
            return;
        }

        var answer = await traffic.CountWriteAsync<RealtimeFrame>("chat", userId, async () =>
        {
            try
            {
                return new SentFrame(frame.RequestId!, await chats.SendAsync(userId, frame.ChatId, new SendMessageRequest(frame.Text, frame.PhotoId), frame.RequestId!, socket.Closing));
            }
            catch (ApiProblem problem)
            {
                return new RefusedFrame(frame.RequestId, problem.Status, problem.Title, problem.Detail);
            }
            catch (Exception e) when (StoreFailures.IsTransient(e) && !socket.Closing.IsCancellationRequested)
            {
                return new RefusedFrame(frame.RequestId, StatusCodes.Status503ServiceUnavailable, "Store busy", "the message was not stored in time; send it again with the same request id");
            }
        }, a => a is RefusedFrame { Status: >= 500 });
        await SendAsync(answer);
    }

    private async Task HandleAsync(DeviceEvent e, CancellationToken cancellationToken)
    {
        switch (e)
        {
            case DeviceEvent.ProfileChanged { Owner: var owner }:
                // Resolved for this device's own user, now; sent only when it differs from what this device last got.
                if (await profiles.ViewAsync(owner, userId, cancellationToken) is { } view && _profilesSent.GetValueOrDefault(owner) != view)
                {
                    await SendAsync(new ProfileFrame(view));
                    _profilesSent[owner] = view;
                }

                return;

            case DeviceEvent.NoticesChanged:
                await SendNoticesAsync();
                return;

            case DeviceEvent.Joined { Added: var added }:
                if (!_cursor.Follows(added.ChatId) && added.UserIds.Contains(userId))
                {
                    // A chat started with this person while connected: follow it from its beginning.
                    _cursor.StartAfter(added.ChatId, 0);
                    hub.Follow(added.ChatId, inbox);
                    await SendAsync(new ChatFrame(added.ChatId));
                    await CatchUpAsync(added.ChatId, await messages.LastSequenceAsync(added.ChatId, cancellationToken), cancellationToken);
                }

                return;

            case DeviceEvent.CursorMoved { Receipt: var receipt }:
                if (_cursor.Follows(receipt.ChatId))
                {
                    await SendAsync(new ReceiptFrame(receipt));
                }

                return;

            case DeviceEvent.NewMessage { Message: var message }:
                await DeliverAsync(message, cancellationToken);
                return;
        }
    }

    private async Task DeliverAsync(MessageView message, CancellationToken cancellationToken)
    {
        var delivery = _cursor.Decide(message.ChatId, message.Sequence);
        if (delivery == Delivery.NotFollowed)
        {
            // Invited to a chat while connected: follow it from the invitation on.
            if (message.Kind != MessageKind.Joined || !(message.UserIds ?? []).Contains(userId))
            {
                return;
            }

            _cursor.StartAfter(message.ChatId, message.Sequence - 1);
            hub.Follow(message.ChatId, inbox);
            // The feed went on while this waited in the queue: what it handed out before the follow above
            // reached nobody here, so catch up to the newest sequence (never below what the feed has seen).
            await CatchUpAsync(message.ChatId, await messages.LastSequenceAsync(message.ChatId, cancellationToken), cancellationToken);
            delivery = _cursor.Decide(message.ChatId, message.Sequence);
        }

        if (delivery == Delivery.Send)
        {
            // The usual case: the next one, as the feed brought it; no need to read it back.
            await SendAsync(new MessageFrame(message));
            _cursor.Sent(message.ChatId, message.Sequence);
            cursors.Advance(message.ChatId, userId, message.Sequence, 0);
        }
        else if (delivery == Delivery.CatchUp)
        {
            await CatchUpAsync(message.ChatId, message.Sequence, cancellationToken);
        }

        if (message.Kind == MessageKind.Left && (message.UserIds ?? []).Contains(userId))
        {
            hub.Unfollow(message.ChatId, inbox);
            _cursor.Stop(message.ChatId);
        }
    }

    /// <summary>Sends every message of the chat after the last one sent, up to <paramref name="upTo"/>.</summary>
    private async Task CatchUpAsync(string chatId, long upTo, CancellationToken cancellationToken)
    {
        var sent = _cursor.LastSent(chatId);
        while (sent < upTo)
        {
            var page = await messages.RangeAsync(chatId, sent + 1, Math.Min(upTo, sent + Messages.MaxPage), cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            foreach (var message in page)
            {
                await SendAsync(new MessageFrame(message));
            }

            sent = page[^1].Sequence;
            _cursor.Sent(chatId, sent);
        }

        if (sent > 0)
        {
            cursors.Advance(chatId, userId, sent, 0);
        }
    }

    /// <summary>Frames go out as <see cref="RealtimeFrame"/>, so that each carries its type.</summary>
    private Task SendAsync(RealtimeFrame frame) => socket.SendAsync(frame);
}
