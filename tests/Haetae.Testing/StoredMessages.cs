using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Haetae.Testing;

/// <summary>Reads back what a stream holds, to check acknowledged writes against it.</summary>
public static class StoredMessages
{
    /// <summary>Every payload in <paramref name="stream"/>, in sequence order.</summary>
    public static async Task<IReadOnlyList<string>> ReadAllAsync(INatsJSContext js, string stream, CancellationToken cancellationToken)
    {
        var info = await js.GetStreamAsync(stream, cancellationToken: cancellationToken);
        var last = info.Info.State.LastSeq;
        var payloads = new List<string>();
        if (info.Info.State.Messages == 0)
        {
            return payloads;
        }

        var consumer = await js.CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.All }, cancellationToken);
        await foreach (var message in consumer.ConsumeAsync<string>(cancellationToken: cancellationToken))
        {
            payloads.Add(message.Data ?? "");
            if (message.Metadata?.Sequence.Stream >= last)
            {
                break;
            }
        }

        return payloads;
    }
}
