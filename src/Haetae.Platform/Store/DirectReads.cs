using System.Text.Json;
using System.Text.Json.Serialization;
using NATS.Client.Core;

namespace Haetae.Platform.Store;

/// <summary>One stored message as a read returned it.</summary>
/// <param name="Headers">The message's headers as stored (NATS header text), when the read returns them.</param>
public sealed record StoredEntry(string Subject, ulong Sequence, ReadOnlyMemory<byte> Data, string? Headers = null);

/// <summary>
/// Reads of stream messages. Direct gets are answered by any replica (the streams allow direct access)
/// and keep working while a shard elects a new leader; a replica may trail the leader by the writes in
/// flight, so they serve only what cannot be stale: a message at a known sequence or subject that is
/// written once. "The newest" comes from the leader (<see cref="GetLastFromLeaderAsync"/>).
/// </summary>
public static class DirectReads
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The message at stream sequence <paramref name="sequence"/>, or null if there is none.</summary>
    public static Task<StoredEntry?> GetAsync(INatsConnection connection, string stream, ulong sequence, CancellationToken cancellationToken) =>
        RequestAsync(connection, stream, new DirectGetRequest { Sequence = sequence }, cancellationToken);

    /// <summary>The newest message whose subject matches <paramref name="subject"/> (wildcards allowed), or null.</summary>
    public static Task<StoredEntry?> GetLastAsync(INatsConnection connection, string stream, string subject, CancellationToken cancellationToken) =>
        RequestAsync(connection, stream, new DirectGetRequest { LastBySubject = subject }, cancellationToken);

    /// <summary>How long a leader read waits before the replica answers instead: a leader answers in milliseconds.</summary>
    public static readonly TimeSpan LeaderTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>After a leader read went unanswered, reads of that stream go to the replica for this long (an election takes seconds).</summary>
    public static readonly TimeSpan NoLeaderBackoff = TimeSpan.FromSeconds(1);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> NoLeaderUntil = new(StringComparer.Ordinal);

    /// <summary>
    /// The newest message whose subject matches <paramref name="subject"/> as the stream's leader has it,
    /// so that it reflects every write acknowledged so far, at any site. While the stream has no leader (an
    /// election, seconds), the local replica answers instead when <paramref name="replicaWhenNoLeader"/>:
    /// reads pause at most <see cref="LeaderTimeout"/> once per <see cref="NoLeaderBackoff"/>, and may trail
    /// for the election's seconds. Without it, a read with no leader to answer throws a
    /// <see cref="NatsException"/> (for callers that retry through elections and must never trail).
    /// </summary>
    public static async Task<StoredEntry?> GetLastFromLeaderAsync(
        INatsConnection connection, string stream, string subject, CancellationToken cancellationToken, bool replicaWhenNoLeader = true)
    {
        if (replicaWhenNoLeader && NoLeaderUntil.TryGetValue(stream, out var until) && Environment.TickCount64 < until)
        {
            return await GetLastAsync(connection, stream, subject, cancellationToken);
        }

        NatsMsg<byte[]> reply;
        try
        {
            reply = await connection.RequestAsync<byte[], byte[]>(
                $"$JS.API.STREAM.MSG.GET.{stream}",
                JsonSerializer.SerializeToUtf8Bytes(new DirectGetRequest { LastBySubject = subject }, Json),
                replyOpts: replicaWhenNoLeader ? new NatsSubOpts { Timeout = LeaderTimeout } : null,
                cancellationToken: cancellationToken);
        }
        catch (Exception e) when (replicaWhenNoLeader && e is NatsException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return await NoLeaderAsync();
        }

        var answer = JsonSerializer.Deserialize<LeaderGetResponse>(reply.Data ?? [], Json);
        if (answer?.Message is { } message)
        {
            NoLeaderUntil.TryRemove(stream, out _);
            return new StoredEntry(
                message.Subject,
                message.Sequence,
                message.Data is null ? ReadOnlyMemory<byte>.Empty : Convert.FromBase64String(message.Data),
                message.Headers is null ? null : System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(message.Headers)));
        }

        // 404: nothing on that subject. Anything else: no leader, or one that has just lost it.
        if (answer?.Error?.Code == 404)
        {
            return null;
        }

        return replicaWhenNoLeader ? await NoLeaderAsync() : throw new NatsException($"No leader of {stream} answered: {answer?.Error?.Code} {answer?.Error?.Description}");

        async Task<StoredEntry?> NoLeaderAsync()
        {
            NoLeaderUntil[stream] = Environment.TickCount64 + (long)NoLeaderBackoff.TotalMilliseconds;
            return await GetLastAsync(connection, stream, subject, cancellationToken);
        }
    }

    private static async Task<StoredEntry?> RequestAsync(INatsConnection connection, string stream, DirectGetRequest request, CancellationToken cancellationToken)
    {
        var reply = await connection.RequestAsync<byte[], byte[]>(
            $"$JS.API.DIRECT.GET.{stream}", JsonSerializer.SerializeToUtf8Bytes(request, Json), cancellationToken: cancellationToken);
        var headers = reply.Headers;
        if (headers is not null && headers.Code == 404)
        {
            return null;
        }

        if (headers is null || headers.Code >= 400 || !headers.TryGetValue("Nats-Sequence", out var sequence) || !headers.TryGetValue("Nats-Subject", out var subject))
        {
            throw new NatsException($"Direct get from {stream} failed: {headers?.Code} {headers?.MessageText}");
        }

        return new StoredEntry(
            subject.ToString(),
            ulong.Parse(sequence.ToString(), System.Globalization.CultureInfo.InvariantCulture),
            reply.Data ?? [],
            headers.TryGetValue("KV-Operation", out var operation) ? $"KV-Operation: {operation}" : null);
    }

    private sealed record LeaderGetResponse(
        [property: JsonPropertyName("message")] LeaderMessage? Message,
        [property: JsonPropertyName("error")] LeaderError? Error);

    private sealed record LeaderMessage(
        [property: JsonPropertyName("subject")] string Subject,
        [property: JsonPropertyName("seq")] ulong Sequence,
        [property: JsonPropertyName("data")] string? Data,
        [property: JsonPropertyName("hdrs")] string? Headers);

    private sealed record LeaderError(
        [property: JsonPropertyName("code")] int Code,
        [property: JsonPropertyName("description")] string? Description);

    private sealed class DirectGetRequest
    {
        [JsonPropertyName("seq")]
        public ulong? Sequence { get; init; }

        [JsonPropertyName("last_by_subj")]
        public string? LastBySubject { get; init; }
    }
}
