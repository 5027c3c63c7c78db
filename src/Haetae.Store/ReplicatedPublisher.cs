using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Haetae.Store;

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
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                var ack = await js.PublishAsync(subject, data, opts: new NatsJSPubOpts { MsgId = messageId, ExpectedLastSubjectSequence = expectedLastSubjectSequence }, cancellationToken: cancellationToken);
                if (ack.Duplicate)
                {
                    // An earlier attempt was stored; the client library calls that an error, we call it done.
                    return ack;
                }

                ack.EnsureSuccess();
                return ack;
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
            }
        }
    }

    /// <summary>JetStream's error code for "the subject's last sequence is not the one expected".</summary>
    public const int WrongLastSequence = 10071;

    /// <summary>
    /// Failures that a site loss or an election produce and that a retry with the same message id
    /// resolves: no responders, a request that timed out, a dropped connection.
    /// </summary>
    public static bool IsTransient(Exception e) => e switch
    {
        NatsJSDuplicateMessageException => false,
        NatsJSApiException api => api.Error.Code is 503 or 408,
        NatsException => true,
        TimeoutException => true,
        OperationCanceledException => true,
        _ => false,
    };
}
