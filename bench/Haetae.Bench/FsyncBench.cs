using System.Diagnostics;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Bench;

/// <summary>
/// What writing every message to disk before acknowledging it costs: raw R3 publishes one at a time and
/// pipelined, then the chat API, each on a cluster with sync_interval: always and on one with the server's
/// default background flush, alternating within one run so that both see the same machine.
/// </summary>
internal static class FsyncBench
{
    private const int Sequential = 2_000;
    private const int Pipelined = 30_000;
    private const int InFlight = 256;

    public static async Task RunAsync(int runs, TextWriter output)
    {
        await output.WriteLineAsync($"# fsync benchmark, {runs} runs, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");
        var rates = new Dictionary<(bool Sync, string What), List<double>>();
        for (var run = 0; run < runs; run++)
        {
            // Alternate which goes first, so neither always meets a warmer machine.
            foreach (var sync in run % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var (sequential, pipelined) = await RawAsync(sync);
                Add(sync, "raw R3, one at a time", sequential);
                Add(sync, $"raw R3, pipelined ({InFlight} in flight)", pipelined);
                await output.WriteLineAsync($"run {run + 1}, {Mode(sync)}: one at a time {sequential:N0} msg/s, pipelined {pipelined:N0} msg/s");
            }
        }

        foreach (var ((sync, what), values) in rates.OrderBy(r => r.Key.What, StringComparer.Ordinal).ThenByDescending(r => r.Key.Sync))
        {
            await output.WriteLineAsync($"{what}, {Mode(sync)}: median {Median(values):N0} msg/s ({values.Min():N0} – {values.Max():N0})");
        }

        // The chat API, each mode on its own cluster, one after the other (ChatBench prints its figures).
        foreach (var sync in new[] { true, false })
        {
            await ChatBench.RunAsync(pairs: 16, perSender: 200, output, syncEveryWrite: sync);
        }

        void Add(bool sync, string what, double value)
        {
            if (!rates.TryGetValue((sync, what), out var list))
            {
                rates[(sync, what)] = list = [];
            }

            list.Add(value);
        }
    }

    private static async Task<(double Sequential, double Pipelined)> RawAsync(bool sync)
    {
        await using var cluster = await TestCluster.StartAsync(withNodes: false, syncEveryWrite: sync);
        await using var connection = await cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var payload = new byte[256];
        Random.Shared.NextBytes(payload);

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Sequential; i++)
        {
            await ReplicatedPublisher.PublishAsync(js, Assets.ChatSubject(i % Assets.ChatShards, "seq"), payload, $"seq-{i}", CancellationToken.None);
        }

        var sequential = Sequential / clock.Elapsed.TotalSeconds;

        clock.Restart();
        using var inFlight = new SemaphoreSlim(InFlight);
        var pending = new List<Task>(Pipelined);
        for (var i = 0; i < Pipelined; i++)
        {
            await inFlight.WaitAsync();
            pending.Add(PublishAsync(js, Assets.ChatSubject(i % Assets.ChatShards, "pipe"), payload, $"pipe-{i}", inFlight));
        }

        await Task.WhenAll(pending);
        return (sequential, Pipelined / clock.Elapsed.TotalSeconds);
    }

    private static async Task PublishAsync(NatsJSContext js, string subject, byte[] payload, string id, SemaphoreSlim inFlight)
    {
        try
        {
            await ReplicatedPublisher.PublishAsync(js, subject, payload, id, CancellationToken.None);
        }
        finally
        {
            inFlight.Release();
        }
    }

    private static string Mode(bool sync) => sync ? "every write fsynced" : "lazy fsync (default)";

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
