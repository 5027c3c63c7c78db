using System.Globalization;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Chat;

/// <summary>
/// A chat's messages in its shard's stream, one subject per message (chat.NN.CHAT.SEQ). Appending takes
/// the next free chat sequence with compare-and-set (JetStream refuses a second message on a subject),
/// so every chat has one sequence with no gaps, whichever site each writer is at.
/// </summary>
internal sealed class Messages(INatsConnection connection, INatsJSContext js, TimeProvider time)
{

    /// <summary>The newest sequence this node has seen per chat: where the next append starts looking (never beyond the truth).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _lastSeen = new();

    public const int MaxPage = 200;

    /// <summary>Notes a stored message (from this node's appends and from the feed of every shard).</summary>
    public void Observe(string chatId, long sequence) => _lastSeen.AddOrUpdate(chatId, sequence, (_, seen) => Math.Max(seen, sequence));

    /// <summary>
    /// Appends a message with the next sequence. A retry with the same request id returns the message the
    /// first attempt stored (JetStream's duplicate window, 10 minutes) and stores nothing new.
    /// </summary>
    public async Task<MessageView> AppendAsync(
        string chatId, MessageKind kind, string senderId, string? text, string? photoId, IReadOnlyList<string>? userIds, string requestId, CancellationToken cancellationToken)
    {
        // Start from what this node has seen; only a conflict costs a read of the chat's newest sequence.
        var next = (_lastSeen.TryGetValue(chatId, out var seen) ? seen : await LastSequenceAsync(chatId, cancellationToken)) + 1;
        // The sender is part of the key: another member cannot reach someone else's message by reusing their request id.
        var messageId = $"{chatId}:{senderId}:{requestId}";
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var message = new MessageView(chatId, next, kind, senderId, text, photoId, userIds, time.GetUtcNow(), requestId);
            try
            {
                var ack = await ReplicatedPublisher.PublishAsync(
                    js, Assets.ChatMessageSubject(chatId, next), JsonSerializer.SerializeToUtf8Bytes(message, HaetaeJson.Options), messageId, cancellationToken, expectedLastSubjectSequence: 0);
                var stored = ack.Duplicate ? await ReadStoredAsync(chatId, ack.Seq, cancellationToken) : message;
                if (stored.ChatId != chatId || stored.SenderId != senderId || stored.RequestId != requestId)
                {
                    // A "duplicate" answer that points at someone else's message came from a leader that had
                    // lost its quorum (seen in partition drills): nothing of ours is stored there; not done.
                    throw new ApiProblem(503, "Store electing", "the store's answer could not be confirmed; retry with the same request id");
                }

                Observe(chatId, stored.Sequence);
                return stored;
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == ReplicatedPublisher.WrongLastSequence)
            {
                // Another writer took this sequence: look at the chat's newest and take the one after.
                next = Math.Max(next + 1, await LastSequenceAsync(chatId, cancellationToken) + 1);
            }
        }

        throw new ApiProblem(503, "Chat busy", "could not find a free sequence; retry with the same request id");
    }

    /// <summary>Tells the devices of <paramref name="userIds"/> that they are in the chat now (once per request id).</summary>
    public async Task AnnounceMembersAsync(string chatId, IReadOnlyList<string> userIds, string requestId, CancellationToken cancellationToken) =>
        await ReplicatedPublisher.PublishAsync(
            js, Assets.ChatMembersSubject(chatId), JsonSerializer.SerializeToUtf8Bytes(new MembersAdded(chatId, userIds), HaetaeJson.Options), $"{chatId}:members:{requestId}", cancellationToken);

    /// <summary>The newest sequence of the chat (0 when it has no message).</summary>
    public async Task<long> LastSequenceAsync(string chatId, CancellationToken cancellationToken) =>
        (await LastAsync(chatId, cancellationToken)).Sequence;

    /// <summary>
    /// The chat's newest message and its sequence (0 and null when it has none), in one read. From the leader,
    /// so that it never trails a message acknowledged at another site; and never below what this node has
    /// seen itself (its appends, its feed), which matters while there is no leader and a trailing replica
    /// answers: a device that starts following a chat catches up to this, and a message the feed handed
    /// out just before the device followed would otherwise reach it only with the chat's next message.
    /// </summary>
    public async Task<(long Sequence, MessageView? Message)> LastAsync(string chatId, CancellationToken cancellationToken)
    {
        var last = await DirectReads.GetLastFromLeaderAsync(connection, Assets.ChatStreamOf(chatId), Assets.ChatMessagesFilter(chatId), cancellationToken);
        var sequence = last is null ? 0 : SequenceOf(last.Subject);
        Observe(chatId, sequence);
        var seen = _lastSeen.GetValueOrDefault(chatId);
        if (seen > sequence)
        {
            return (seen, await GetAsync(chatId, seen, cancellationToken, fromLeader: true));
        }

        return last is null ? (0, null) : (sequence, JsonSerializer.Deserialize<MessageView>(last.Data.Span, HaetaeJson.Options));
    }

    /// <summary>
    /// The message at <paramref name="sequence"/>. Each message's subject is written once, so any replica that
    /// has it has the right one; <paramref name="fromLeader"/> asks the leader, for one a trailing replica lacks.
    /// </summary>
    public async Task<MessageView?> GetAsync(string chatId, long sequence, CancellationToken cancellationToken, bool fromLeader = false)
    {
        var (stream, subject) = (Assets.ChatStreamOf(chatId), Assets.ChatMessageSubject(chatId, sequence));
        var entry = fromLeader
            ? await DirectReads.GetLastFromLeaderAsync(connection, stream, subject, cancellationToken)
            : await DirectReads.GetLastAsync(connection, stream, subject, cancellationToken);
        return entry is null ? null : JsonSerializer.Deserialize<MessageView>(entry.Data.Span, HaetaeJson.Options);
    }

    /// <summary>
    /// Messages from <paramref name="first"/> to <paramref name="last"/> inclusive, ascending, without gaps:
    /// a message a trailing replica does not have yet is asked of the leader, and the page ends before the
    /// first one still missing (only while the shard elects a leader).
    /// </summary>
    public async Task<IReadOnlyList<MessageView>> RangeAsync(string chatId, long first, long last, CancellationToken cancellationToken)
    {
        if (last < first)
        {
            return [];
        }

        var found = new MessageView?[last - first + 1];
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var missing = Enumerable.Range(0, found.Length).Where(i => found[i] is null).ToList();
            if (missing.Count == 0)
            {
                break;
            }

            var fetched = await Task.WhenAll(missing.Select(i => GetAsync(chatId, first + i, cancellationToken, fromLeader: attempt > 0)));
            for (var j = 0; j < missing.Count; j++)
            {
                found[missing[j]] = fetched[j];
            }

            if (fetched.Any(m => m is null))
            {
                await Task.Delay(10 * (attempt + 1), cancellationToken);
            }
        }

        return [.. found.TakeWhile(m => m is not null).Select(m => m!)];
    }

    private async Task<MessageView> ReadStoredAsync(string chatId, ulong streamSequence, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var entry = await DirectReads.GetAsync(connection, Assets.ChatStreamOf(chatId), streamSequence, cancellationToken);
            if (entry is not null)
            {
                return JsonSerializer.Deserialize<MessageView>(entry.Data.Span, HaetaeJson.Options)!;
            }

            if (attempt >= 20)
            {
                throw new ApiProblem(503, "Store catching up", "the stored message is not readable yet; retry with the same request id");
            }

            // The replica that answered trails the leader that acknowledged; it catches up in milliseconds.
            await Task.Delay(10, cancellationToken);
        }
    }

    private static long SequenceOf(string subject) =>
        long.Parse(subject.AsSpan(subject.LastIndexOf('.') + 1), CultureInfo.InvariantCulture);
}
