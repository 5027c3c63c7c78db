using System.Text.Json;
using System.Text.Json.Serialization;
using NATS.Client.Core;

namespace Haetae.Store;

/// <summary>One stored message as a read returned it.</summary>
public sealed record StoredEntry(string Subject, ulong Sequence, ReadOnlyMemory<byte> Data);

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

    /// <summary>
    /// The newest message whose subject matches <paramref name="subject"/> as the stream's leader has it,
    /// so that it reflects every write acknowledged so far, at any site. While the stream has no leader (an
    /// election, seconds), the local replica answers instead: reads do not pause, and may trail for that time.
    /// </summary>
    public static async Task<StoredEntry?> GetLastFromLeaderAsync(INatsConnection connection, string stream, string subject, CancellationToken cancellationToken)
    {
        NatsMsg<byte[]> reply;
        try
        {
            reply = await connection.RequestAsync<byte[], byte[]>(
                $"$JS.API.STREAM.MSG.GET.{stream}", JsonSerializer.SerializeToUtf8Bytes(new DirectGetRequest { LastBySubject = subject }, Json), cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is NatsException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return await GetLastAsync(connection, stream, subject, cancellationToken);
        }

        var answer = JsonSerializer.Deserialize<LeaderGetResponse>(reply.Data ?? [], Json);
        if (answer?.Message is { } message)
        {
            return new StoredEntry(message.Subject, message.Sequence, message.Data is null ? ReadOnlyMemory<byte>.Empty : Convert.FromBase64String(message.Data));
        }

        return answer?.Error?.Code switch
        {
            404 => null,
            // No leader, or one that has just lost it: the replica's answer, as during an election.
            _ => await GetLastAsync(connection, stream, subject, cancellationToken),
        };
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

        return new StoredEntry(subject.ToString(), ulong.Parse(sequence.ToString(), System.Globalization.CultureInfo.InvariantCulture), reply.Data ?? []);
    }

    private sealed record LeaderGetResponse(
        [property: JsonPropertyName("message")] LeaderMessage? Message,
        [property: JsonPropertyName("error")] LeaderError? Error);

    private sealed record LeaderMessage(
        [property: JsonPropertyName("subject")] string Subject,
        [property: JsonPropertyName("seq")] ulong Sequence,
        [property: JsonPropertyName("data")] string? Data);

    private sealed record LeaderError([property: JsonPropertyName("code")] int Code);

    private sealed class DirectGetRequest
    {
        [JsonPropertyName("seq")]
        public ulong? Sequence { get; init; }

        [JsonPropertyName("last_by_subj")]
        public string? LastBySubject { get; init; }
    }
}
