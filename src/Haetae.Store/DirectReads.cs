using System.Text.Json;
using System.Text.Json.Serialization;
using NATS.Client.Core;

namespace Haetae.Store;

/// <summary>One stored message as a read returned it.</summary>
public sealed record StoredEntry(string Subject, ulong Sequence, ReadOnlyMemory<byte> Data);

/// <summary>
/// Reads through JetStream's direct-get API, which every replica answers (the streams allow direct
/// access). Unlike reads through the stream leader, these keep working while a shard elects a new
/// leader after a site loss. A replica may trail the leader by the writes in flight, so callers that
/// need the newest entry must tolerate finding an older one (appends check with compare-and-set).
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

    private sealed class DirectGetRequest
    {
        [JsonPropertyName("seq")]
        public ulong? Sequence { get; init; }

        [JsonPropertyName("last_by_subj")]
        public string? LastBySubject { get; init; }
    }
}
