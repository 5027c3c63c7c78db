using System.Diagnostics;
using Haetae.Contracts;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Bench;

/// <summary>
/// The foundation's numbers: start-up to ready, rebuild of a site holding 100k messages, and the write
/// pause after burning the site that leads the written stream (median of several runs).
/// </summary>
internal static class FoundationBench
{
    private const int RebuildMessages = 100_000;
    private const int PayloadBytes = 256;

    public static async Task RunAsync(int runs, TextWriter output)
    {
        await output.WriteLineAsync($"# foundation benchmark, {runs} runs each, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");

        var ready = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await using var cluster = await TestCluster.StartAsync(withNodes: true);
            ready.Add(clock.Elapsed.TotalSeconds);
        }

        await output.WriteLineAsync($"start to ready (3 nats-servers + 3 nodes, fresh stores): {Summary(ready, "s")}");

        var pauses = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            pauses.Add(await WritePauseAfterBurningLeaderAsync());
        }

        await output.WriteLineAsync($"longest write pause after burning the stream leader's site: {Summary(pauses, "s")}");

        var rebuilds = new List<double>();
        var fills = new List<double>();
        var rebuildPauses = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var (fill, rebuild, pause) = await RebuildWithMessagesAsync();
            fills.Add(RebuildMessages / fill);
            rebuilds.Add(rebuild);
            rebuildPauses.Add(pause);
        }

        await output.WriteLineAsync(
            $"rebuild of a site holding {RebuildMessages:N0} messages ({PayloadBytes} B, over {Assets.ChatShards} shards) to full redundancy: {Summary(rebuilds, "s")}");
        await output.WriteLineAsync($"longest write pause on any shard while the site is rebuilt: {Summary(rebuildPauses, "s")}");
        await output.WriteLineAsync($"pipelined R3 publish rate while filling (256 in flight): {Summary(fills, "msg/s")}");
    }

    private static async Task<double> WritePauseAfterBurningLeaderAsync()
    {
        await using var cluster = await TestCluster.StartAsync(withNodes: false);
        await using var connection = await cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var leader = (await js.GetStreamAsync(Assets.ChatStream(0))).Info.Cluster!.Leader!;
        await using var load = WriteLoad.Start(js, Assets.ChatSubject(0, "bench"), "w", 100_000, TimeSpan.FromMinutes(2));
        await load.WaitForAcksAsync(500, TimeSpan.FromSeconds(30), "warm-up", CancellationToken.None);

        var fireAt = load.Elapsed;
        await cluster.Platform.FireAsync(leader, CancellationToken.None);
        var acked = load.AckedCount;
        await load.WaitForAcksAsync(acked + 500, TimeSpan.FromSeconds(60), "writes resume", CancellationToken.None);
        var acks = await load.StopAsync();
        return WriteLoad.LongestPause(acks, fireAt).TotalSeconds;
    }

    private static async Task<(double Fill, double Rebuild, double Pause)> RebuildWithMessagesAsync()
    {
        await using var cluster = await TestCluster.StartAsync(withNodes: false);
        await using var connection = await cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(payload);

        var clock = Stopwatch.StartNew();
        using var inFlight = new SemaphoreSlim(256);
        var pending = new List<Task>(RebuildMessages);
        for (var i = 0; i < RebuildMessages; i++)
        {
            await inFlight.WaitAsync();
            var shard = i % Assets.ChatShards;
            pending.Add(PublishAsync(js, Assets.ChatSubject(shard, $"c{i % 1000}"), payload, inFlight));
        }

        await Task.WhenAll(pending);
        var fill = clock.Elapsed.TotalSeconds;

        // Burn a site other than the meta leader's so the figure is re-replication, not also a meta election.
        var status = await cluster.Platform.ReadStatusAsync(CancellationToken.None);
        var victim = cluster.Spec.Sites.First(s => s.Name != status.MetaLeader).Name;
        await cluster.Platform.FireAsync(victim, CancellationToken.None);

        // One writer per shard, from after the fire's elections to the end of the rebuild: does a rebuild pause writes?
        var writers = Enumerable.Range(0, Assets.ChatShards)
            .Select(shard => WriteLoad.Start(js, Assets.ChatSubject(shard, "during-rebuild"), $"r{shard}", 1_000_000, TimeSpan.FromMinutes(5)))
            .ToList();
        await Task.WhenAll(writers.Select(w => w.WaitForAcksAsync(50, TimeSpan.FromSeconds(60), "writes after the fire", CancellationToken.None)));
        var rebuildStarts = writers.Select(w => w.Elapsed).ToList();

        using var tracing = new CancellationTokenSource();
        var trace = trace_ ? TraceAsync(cluster, victim, tracing.Token) : Task.CompletedTask;
        var rebuild = await cluster.Platform.RebuildAsync(victim, CancellationToken.None);
        await tracing.CancelAsync();
        await trace;
        var pause = 0.0;
        for (var shard = 0; shard < writers.Count; shard++)
        {
            var acks = await writers[shard].StopAsync();
            var shardPause = WriteLoad.LongestPause(acks, rebuildStarts[shard]).TotalSeconds;
            if (trace_)
            {
                Console.WriteLine($"  shard {shard}: longest write pause during rebuild {shardPause:0.00} s");
            }

            pause = Math.Max(pause, shardPause);
            await writers[shard].DisposeAsync();
        }

        var held = await cluster.Platform.Monitoring.TryGetJetStreamAsync(cluster.Spec.Site(victim), CancellationToken.None);
        var messages = held!.Accounts!.Single(a => a.Name == "APP").Streams!.Where(s => s.Name.StartsWith("CHAT_", StringComparison.Ordinal)).Sum(s => (long)s.State!.Messages);
        if (messages < RebuildMessages)
        {
            throw new InvalidOperationException($"rebuilt site holds {messages} chat messages, expected at least {RebuildMessages}");
        }

        return (fill, rebuild.TotalSeconds, pause);
    }

    private static readonly bool trace_ = Environment.GetEnvironmentVariable("HAETAE_BENCH_TRACE") == "1";

    /// <summary>With HAETAE_BENCH_TRACE=1: prints what still stands between the rebuilt site and full redundancy, as it changes.</summary>
    private static async Task TraceAsync(TestCluster cluster, string victim, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var status = await cluster.Platform.ReadStatusAsync(cancellationToken);
                var site = status.Sites.Single(s => s.Name == victim);
                var line = $"answers={site.ServerAnswers} health={site.ServerHealth?.Ok} missing={status.MissingAssets.Count} " +
                    $"behind={string.Join(",", status.Behind.Select(b => $"{b.Stream}@{b.Site}:{b.Reason}").Take(4))}";
                if (line != last)
                {
                    Console.WriteLine($"  {clock.Elapsed.TotalSeconds,6:0.00}s {line}");
                    last = line;
                }

                await Task.Delay(100, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task PublishAsync(INatsJSContext js, string subject, byte[] payload, SemaphoreSlim inFlight)
    {
        try
        {
            var ack = await js.PublishAsync(subject, payload);
            ack.EnsureSuccess();
        }
        finally
        {
            inFlight.Release();
        }
    }

    private static string Summary(List<double> values, string unit)
    {
        var sorted = values.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        return $"median {median:0.##} {unit} (min {sorted[0]:0.##}, max {sorted[^1]:0.##}, runs: {string.Join(", ", values.Select(v => v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)))})";
    }
}
