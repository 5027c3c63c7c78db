using System.Collections.Concurrent;
using System.Diagnostics;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Bench;

/// <summary>
/// The chat API against raw JetStream R3 publishes, side by side on one cluster and at the same
/// concurrency: senders each send one message at a time through the public API (each receiver connected
/// by WebSocket at another site, to time delivery), then as many publishers publish directly.
/// </summary>
internal static class ChatBench
{
    private const string Password = "bench password";

    public static async Task RunAsync(int pairs, int perSender, TextWriter output, bool syncEveryWrite = true)
    {
        await using var cluster = await TestCluster.StartAsync(withNodes: true, syncEveryWrite: syncEveryWrite);
        var sites = cluster.Spec.Sites.Select(s => s.NodeUri).ToList();
        HaetaeClient ClientAt(int i) => new([.. sites.Skip(i % 3), .. sites.Take(i % 3)]);

        var senders = new List<(HaetaeClient Client, string ChatId)>();
        var receivers = new List<HaetaeRealtime>();
        for (var i = 0; i < pairs; i++)
        {
            var sender = ClientAt(i);
            var receiver = ClientAt(i + 1);
            var senderLogin = $"s{i}-{Guid.NewGuid():N}@bench.io";
            var receiverLogin = $"r{i}-{Guid.NewGuid():N}@bench.io";
            await sender.SignUpAsync(new SignUpRequest(null, senderLogin, $"S{i}", Password));
            var receiverUser = await receiver.SignUpAsync(new SignUpRequest(null, receiverLogin, $"R{i}", Password));
            await sender.SignInAsync(senderLogin, Password);
            await receiver.SignInAsync(receiverLogin, Password);
            var chat = await sender.Chat.CreateAsync([receiverUser.Id]);
            senders.Add((sender, chat.Id));
            var device = new HaetaeRealtime(receiver);
            await device.Live.WaitAsync(TimeSpan.FromSeconds(30));
            receivers.Add(device);
        }

        // API: send, time the acknowledgement, and time the delivery at the receiver's device.
        var clock = Stopwatch.StartNew();
        var sentAt = new ConcurrentDictionary<string, double>();
        var delivery = new ConcurrentBag<double>();
        var total = pairs * perSender;
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readers = receivers.Select(device => Task.Run(async () =>
        {
            while (!delivered.Task.IsCompleted && await device.Frames.WaitToReadAsync())
            {
                while (!delivered.Task.IsCompleted && device.Frames.TryRead(out var frame))
                {
                    if (frame is MessageFrame { Message: var m } && sentAt.TryGetValue(m.RequestId, out var at))
                    {
                        delivery.Add(clock.Elapsed.TotalMilliseconds - at);
                        if (delivery.Count >= total)
                        {
                            delivered.TrySetResult();
                        }
                    }
                }
            }
        })).ToList();
        var readersDone = Task.WhenAll(readers);

        // Peak: every sender as fast as its acknowledgements come back.
        var apiAcks = new ConcurrentBag<double>();
        var apiStart = clock.Elapsed;
        await Task.WhenAll(senders.Select(s => Task.Run(async () =>
        {
            for (var n = 0; n < perSender; n++)
            {
                var requestId = HaetaeClient.NewRequestId();
                var start = clock.Elapsed.TotalMilliseconds;
                sentAt[requestId] = start;
                await s.Client.Chat.SendTextAsync(s.ChatId, $"message {n}", requestId);
                apiAcks.Add(clock.Elapsed.TotalMilliseconds - start);
            }
        })));
        var apiSeconds = (clock.Elapsed - apiStart).TotalSeconds;
        await delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var peakRate = total / apiSeconds;

        // Half the peak rate, paced: the delivery target is stated at this load.
        var halfDelivery = new ConcurrentBag<double>();
        var halfTotal = total / 2;
        var halfDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var halfSentAt = new ConcurrentDictionary<string, double>();
        var halfReaders = receivers.Select(device => Task.Run(async () =>
        {
            while (!halfDone.Task.IsCompleted && await device.Frames.WaitToReadAsync())
            {
                while (device.Frames.TryRead(out var frame))
                {
                    if (frame is MessageFrame { Message: var m } && halfSentAt.TryGetValue(m.RequestId, out var at))
                    {
                        halfDelivery.Add(clock.Elapsed.TotalMilliseconds - at);
                        if (halfDelivery.Count >= halfTotal)
                        {
                            halfDone.TrySetResult();
                        }
                    }
                }
            }
        })).ToList();
        var interval = TimeSpan.FromSeconds(senders.Count / (peakRate / 2));
        await Task.WhenAll(senders.Select((s, i) => Task.Run(async () =>
        {
            using var pace = new PeriodicTimer(interval);
            for (var n = 0; n < perSender / 2; n++)
            {
                await pace.WaitForNextTickAsync();
                var requestId = HaetaeClient.NewRequestId();
                halfSentAt[requestId] = clock.Elapsed.TotalMilliseconds;
                await s.Client.Chat.SendTextAsync(s.ChatId, $"paced {n}", requestId);
            }
        })));
        await halfDone.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // Raw JetStream at the same concurrency, one publish at a time each, R3, with message ids.
        await using var connection = await cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var rawAcks = new ConcurrentBag<double>();
        var rawStart = clock.Elapsed;
        await Task.WhenAll(Enumerable.Range(0, pairs).Select(p => Task.Run(async () =>
        {
            for (var n = 0; n < perSender; n++)
            {
                var start = clock.Elapsed.TotalMilliseconds;
                await ReplicatedPublisher.PublishAsync(js, Assets.ChatSubject(p % Assets.ChatShards, $"raw{p}"), $"message {n}", $"raw-{p}-{n}", CancellationToken.None);
                rawAcks.Add(clock.Elapsed.TotalMilliseconds - start);
            }
        })));
        var rawSeconds = (clock.Elapsed - rawStart).TotalSeconds;

        await output.WriteLineAsync($"# chat benchmark: {pairs} senders × {perSender} messages, one at a time each, {(syncEveryWrite ? "every write fsynced" : "lazy fsync")}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
        await output.WriteLineAsync($"API send:      {total / apiSeconds,8:N0} msg/s  ack p50 {P(apiAcks, 50),6:0.0} ms  p99 {P(apiAcks, 99),6:0.0} ms  delivery p50 {P(delivery, 50),6:0.0} ms  p99 {P(delivery, 99),6:0.0} ms");
        await output.WriteLineAsync($"raw JetStream: {total / rawSeconds,8:N0} msg/s  ack p50 {P(rawAcks, 50),6:0.0} ms  p99 {P(rawAcks, 99),6:0.0} ms");
        await output.WriteLineAsync($"API rate / raw rate: {total / apiSeconds / (total / rawSeconds):0.00}");
        await output.WriteLineAsync($"API at half the peak rate ({peakRate / 2:N0} msg/s, paced): delivery p50 {P(halfDelivery, 50),6:0.0} ms  p99 {P(halfDelivery, 99),6:0.0} ms");

        foreach (var device in receivers)
        {
            await device.DisposeAsync();
        }

        await readersDone;
        await Task.WhenAll(halfReaders);
        foreach (var (client, _) in senders)
        {
            client.Dispose();
        }
    }

    private static double P(IEnumerable<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
