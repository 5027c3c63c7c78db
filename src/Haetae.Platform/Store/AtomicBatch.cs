using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Haetae.Platform.Store;

/// <summary>One message of an <see cref="AtomicBatch"/>: stored only if the newest message on its subject has <paramref name="ExpectedLastSubjectSequence"/> (0: none yet), when given.</summary>
public sealed record BatchMessage(string Subject, byte[] Data, ulong? ExpectedLastSubjectSequence = null);

/// <summary>
/// JetStream's atomic batch publish (nats-server 2.12 and later; the stream needs allow_atomic): up to
/// 1,000 messages to one stream, stored together or not at all, each with its own expected last subject
/// sequence, so a batch whose one expectation is stale is refused whole. NATS.Net has no API for it, so
/// it is the protocol itself: every message carries Nats-Batch-Id and Nats-Batch-Sequence (1, 2, ...),
/// the last one also Nats-Batch-Commit and is the only one answered. A batch that gets no answer may or
/// may not be stored: the caller reads back (each batch should write a subject that says it was).
/// Failures that store nothing and pass (no responders, a batch seen in part, too many in flight) are
/// transient by <see cref="StoreFailures.IsTransient"/>, for the caller's retry policy.
/// </summary>
public static class AtomicBatch
{
    /// <summary>The most messages in one batch (nats-server's limit).</summary>
    public const int MaxMessages = 1000;

    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(5);

    /// <summary>JetStream's error code for "atomic publish batch is incomplete".</summary>
    public const int IncompleteBatch = 10176;

    /// <summary>JetStream's error code for "atomic publish too many inflight" (50 batches per stream).</summary>
    public const int TooManyInFlight = 10210;

    /// <summary>Publishes <paramref name="messages"/> as one batch; the acknowledgement names the last message's stream sequence.</summary>
    /// <exception cref="NatsJSApiException">The batch was refused, and nothing of it stored (for a stale expectation, error 10071).</exception>
    public static async Task<BatchAck> PublishAsync(INatsConnection connection, IReadOnlyList<BatchMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(messages.Count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(messages.Count, MaxMessages);
        var batchId = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        for (var i = 0; i < messages.Count - 1; i++)
        {
            await connection.PublishAsync(messages[i].Subject, messages[i].Data, HeadersOf(messages[i], batchId, i + 1, commit: false), cancellationToken: cancellationToken);
        }

        var last = messages[^1];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommitTimeout);
        NatsMsg<byte[]> reply;
        try
        {
            reply = await connection.RequestAsync<byte[], byte[]>(last.Subject, last.Data, HeadersOf(last, batchId, messages.Count, commit: true), cancellationToken: timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"batch {batchId} of {messages.Count} got no answer within {CommitTimeout.TotalSeconds:0} s; it may or may not be stored");
        }

        reply.EnsureSuccess();
        var answer = JsonSerializer.Deserialize<BatchAck>(reply.Data ?? [])
            ?? throw new NatsJSException($"batch {batchId}: an empty answer");
        if (answer.Error is { } error)
        {
            // A batch the server saw only in part (a message lost on a reconnect), or one too many in
            // flight, stored nothing: an outage to the caller's retry policy (503), not an answer.
            throw new NatsJSApiException(error.ErrCode is IncompleteBatch or TooManyInFlight
                ? new ApiError { Code = 503, ErrCode = error.ErrCode, Description = error.Description }
                : error);
        }

        return answer;
    }

    private static NatsHeaders HeadersOf(BatchMessage message, string batchId, int sequence, bool commit)
    {
        var headers = new NatsHeaders
        {
            ["Nats-Batch-Id"] = batchId,
            ["Nats-Batch-Sequence"] = sequence.ToString(CultureInfo.InvariantCulture),
        };
        if (commit)
        {
            headers["Nats-Batch-Commit"] = "1";
        }

        if (message.ExpectedLastSubjectSequence is { } expected)
        {
            headers["Nats-Expected-Last-Subject-Sequence"] = expected.ToString(CultureInfo.InvariantCulture);
        }

        return headers;
    }
}

/// <summary>JetStream's answer to a batch's commit: the stream, the last message's sequence and the batch's size, or an error.</summary>
public sealed record BatchAck(
    [property: JsonPropertyName("stream")] string? Stream,
    [property: JsonPropertyName("seq")] ulong Sequence,
    [property: JsonPropertyName("batch")] string? BatchId,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("error")] ApiError? Error);
