using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Haetae.Platform.Store;

/// <summary>
/// Publishes to a replicated stream and retries until JetStream acknowledges. Every retry carries the
/// same message id, which JetStream's duplicate window turns into "stored once".
/// </summary>
public static class ReplicatedPublisher
{
    /// <summary>
    /// Publishes <paramref name="data"/> with <paramref name="messageId"/> as Nats-Msg-Id, retrying
    /// through leader elections and reconnects until acknowledged or <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <returns>The acknowledgement; <c>Duplicate</c> is true when an earlier attempt had already stored it.</returns>
    /// <param name="expectedLastSubjectSequence">
    /// When set, JetStream stores the message only if the newest message on <paramref name="subject"/> has this
    /// stream sequence (0: no message on that subject yet); otherwise it refuses with error 10071.
    /// </param>
    public static async Task<PubAckResponse> PublishAsync<T>(
        INatsJSContext js, string subject, T data, string messageId, CancellationToken cancellationToken, ulong? expectedLastSubjectSequence = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var opts = new NatsJSPubOpts { MsgId = messageId, ExpectedLastSubjectSequence = expectedLastSubjectSequence };
        return await StoreRetry.UntilStored.ExecuteAsync(async ct =>
        {
            var ack = await js.PublishAsync(subject, data, opts: opts, cancellationToken: ct);
            if (ack.Duplicate)
            {
                // An earlier attempt was stored; the client library calls that an error, we call it done.
                return ack;
            }

            ack.EnsureSuccess();
            return ack;
        }, cancellationToken);
    }

    /// <summary>JetStream's error code for "the subject's last sequence is not the one expected".</summary>
    public const int WrongLastSequence = 10071;

    /// <summary>
    /// JetStream's error code for "wrong last sequence" without a sequence: another write with an expected
    /// sequence on the same subject is still being processed (nats-server 2.12 and later, clustered streams).
    /// The subject may or may not be taken once that write settles.
    /// </summary>
    public const int SubjectInFlight = 10164;
}
