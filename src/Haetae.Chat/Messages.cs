using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Store;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Chat;

/// <summary>
/// A chat's messages: a <see cref="SequencedLog{T}"/> per chat in its shard's stream, one subject per
/// message (chat.NN.CHAT.SEQ), so every chat has one sequence with no gaps, whichever site each writer is at.
/// </summary>
internal sealed class Messages(INatsConnection connection, INatsJSContext js, TimeProvider time)
{
    private readonly SequencedLog<MessageView> _log = new(
        connection, js, new LogLayout(Assets.ChatStreamOf, Assets.ChatMessageSubject, Assets.ChatMessagesFilter), m => m.Sequence);

    public const int MaxPage = 200;

    /// <summary>Notes a stored message (from this node's appends and from the feed of every shard).</summary>
    public void Observe(string chatId, long sequence) => _log.Observe(chatId, sequence);

    /// <summary>
    /// Appends a message with the next sequence. A retry with the same request id returns the message the
    /// first attempt stored (JetStream's duplicate window, 10 minutes) and stores nothing new.
    /// </summary>
    public Task<MessageView> AppendAsync(
        string chatId, MessageKind kind, string senderId, string? text, string? photoId, IReadOnlyList<string>? userIds, string requestId, CancellationToken cancellationToken, MoneyNote? money = null, GiftNote? gift = null) =>
        // The sender is part of the key: another member cannot reach someone else's message by reusing their request id.
        _log.AppendAsync(
            chatId,
            sequence => new MessageView(chatId, sequence, kind, senderId, text, photoId, userIds, time.GetUtcNow(), requestId, money, gift),
            $"{chatId}:{senderId}:{requestId}",
            stored => stored.ChatId == chatId && stored.SenderId == senderId && stored.RequestId == requestId,
            cancellationToken);

    /// <summary>Tells the devices of <paramref name="userIds"/> that they are in the chat now (once per request id).</summary>
    public async Task AnnounceMembersAsync(string chatId, IReadOnlyList<string> userIds, string requestId, CancellationToken cancellationToken) =>
        await ReplicatedPublisher.PublishAsync(
            js, Assets.ChatMembersSubject(chatId), JsonSerializer.SerializeToUtf8Bytes(new MembersAdded(chatId, userIds), HaetaeJson.Options), $"{chatId}:members:{requestId}", cancellationToken);

    /// <summary>The newest sequence of the chat (0 when it has no message).</summary>
    public Task<long> LastSequenceAsync(string chatId, CancellationToken cancellationToken) => _log.LastSequenceAsync(chatId, cancellationToken);

    /// <summary>The chat's newest message and its sequence (0 and null when it has none), never below what this node has seen.</summary>
    public Task<(long Sequence, MessageView? Message)> LastAsync(string chatId, CancellationToken cancellationToken) => _log.LastAsync(chatId, cancellationToken);

    /// <summary>The message at <paramref name="sequence"/> (from any replica, or the leader).</summary>
    public Task<MessageView?> GetAsync(string chatId, long sequence, CancellationToken cancellationToken, bool fromLeader = false) =>
        _log.GetAsync(chatId, sequence, cancellationToken, fromLeader);

    /// <summary>Messages from <paramref name="first"/> to <paramref name="last"/> inclusive, ascending, without gaps.</summary>
    public Task<IReadOnlyList<MessageView>> RangeAsync(string chatId, long first, long last, CancellationToken cancellationToken) =>
        _log.RangeAsync(chatId, first, last, cancellationToken);
}
