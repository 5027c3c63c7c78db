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

        // Each sender's own device too: sends can go over its realtime connection instead of HTTP.
        var devices = new List<HaetaeRealtime>();
        foreach (var (client, _) in senders)
        {
            var device = new HaetaeRealtime(client);
            await device.Live.WaitAsync(TimeSpan.FromSeconds(30));
            devices.Add(device);
        }

        var clock = Stopwatch.StartNew();
        var total = pairs * perSender;

        // Peak: every sender as fast as its acknowledgements come back, through HTTP, then over its socket.
        var http = await PhaseAsync(receivers, senders.Count, perSender, clock, (i, n, requestId) => senders[i].Client.Chat.SendTextAsync(senders[i].ChatId, $"message {n}", requestId));
        var socket = await PhaseAsync(receivers, senders.Count, perSender, clock, (i, n, requestId) => devices[i].SendAsync(senders[i].ChatId, $"socket {n}", requestId: requestId));

        // Half the socket's peak rate, paced: the delivery target is stated at this load.
        var interval = TimeSpan.FromSeconds(senders.Count / (socket.Rate / 2));
        var half = await PhaseAsync(receivers, senders.Count, perSender / 2, clock, (i, n, requestId) => devices[i].SendAsync(senders[i].ChatId, $"paced {n}", requestId: requestId), interval);

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
        var raw = total / rawSeconds;
        await output.WriteLineAsync($"API send (HTTP):   {http.Rate,8:N0} msg/s  ack p50 {P(http.Acks, 50),6:0.0} ms  p99 {P(http.Acks, 99),6:0.0} ms  delivery p50 {P(http.Delivery, 50),6:0.0} ms  p99 {P(http.Delivery, 99),6:0.0} ms");
        await output.WriteLineAsync($"API send (socket): {socket.Rate,8:N0} msg/s  ack p50 {P(socket.Acks, 50),6:0.0} ms  p99 {P(socket.Acks, 99),6:0.0} ms  delivery p50 {P(socket.Delivery, 50),6:0.0} ms  p99 {P(socket.Delivery, 99),6:0.0} ms");
        await output.WriteLineAsync($"raw JetStream:     {raw,8:N0} msg/s  ack p50 {P(rawAcks, 50),6:0.0} ms  p99 {P(rawAcks, 99),6:0.0} ms");
        await output.WriteLineAsync($"API rate / raw rate: HTTP {http.Rate / raw:0.00}, socket {socket.Rate / raw:0.00}");
        await output.WriteLineAsync($"socket at half its peak rate ({socket.Rate / 2:N0} msg/s, paced): delivery p50 {P(half.Delivery, 50),6:0.0} ms  p99 {P(half.Delivery, 99),6:0.0} ms");

        foreach (var device in receivers.Concat(devices))
        {
            await device.DisposeAsync();
        }

        foreach (var (client, _) in senders)
        {
            client.Dispose();
        }
    }

    private sealed record Phase(double Rate, IReadOnlyCollection<double> Acks, IReadOnlyCollection<double> Delivery);

    /// <summary>
    /// Every sender sends <paramref name="perSender"/> messages one at a time (each waits for its
    /// acknowledgement; paced at <paramref name="interval"/> if given); the acknowledgements are timed, and
    /// the delivery of each message at its receiver's device.
    /// </summary>
    private static async Task<Phase> PhaseAsync(
        IReadOnlyList<HaetaeRealtime> receivers, int senders, int perSender, Stopwatch clock, Func<int, int, string, Task> send, TimeSpan? interval = null)
    {
        var sentAt = new ConcurrentDictionary<string, double>();
        var delivery = new ConcurrentBag<double>();
        var total = senders * perSender;
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var readers = receivers.Select(device => Task.Run(async () =>
        {
            try
            {
                while (await device.Frames.WaitToReadAsync(stop.Token))
                {
                    while (device.Frames.TryRead(out var frame))
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
            }
            catch (OperationCanceledException)
            {
                // The phase is over.
            }
        })).ToList();

        var acks = new ConcurrentBag<double>();
        var started = clock.Elapsed;
        await Task.WhenAll(Enumerable.Range(0, senders).Select(i => Task.Run(async () =>
        {
            using var pace = interval is { } every ? new PeriodicTimer(every) : null;
            for (var n = 0; n < perSender; n++)
            {
                if (pace is not null)
                {
                    await pace.WaitForNextTickAsync();
                }

                var requestId = HaetaeClient.NewRequestId();
                var start = clock.Elapsed.TotalMilliseconds;
                sentAt[requestId] = start;
                await send(i, n, requestId);
                acks.Add(clock.Elapsed.TotalMilliseconds - start);
            }
        })));
        var seconds = (clock.Elapsed - started).TotalSeconds;
        await delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        return new Phase(total / seconds, acks, delivery);
    }

    private static double P(IEnumerable<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
