using Haetae.Contracts;
using Haetae.Platform.Store;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Drill.Tests;

/// <summary>A site cut off from the other two, not killed: no split brain, and everything converges when it heals.</summary>
public sealed class PartitionTests
{
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(60);

    // It writes to the cut-off leader on purpose, straight to JetStream: the engine itself must refuse to
    // acknowledge what the island appends, and truncate it at the heal (nats-server 2.9.10 did not always;
    // docs/architecture.md, The engine).
    [Fact]
    public async Task A_cut_off_site_acknowledges_no_write_the_others_carry_on_and_all_converges_after_healing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: false, cancellationToken: ct, proxiedLinks: true);
        var stream = Assets.ChatStream(1);
        await using var anywhere = await cluster.ConnectAsync();
        var js = new NatsJSContext(anywhere);
        var leader = (await js.GetStreamAsync(stream, cancellationToken: ct)).Info.Cluster!.Leader!;
        var majority = cluster.Spec.Sites.First(s => s.Name != leader).Name;

        // A writer that can only reach the site that will be cut off, and one that prefers the others.
        await using var isolated = await cluster.ConnectAsync(leader, onlyLocal: true);
        await using var elsewhere = await cluster.ConnectAsync(majority);
        var subject = Assets.ChatSubject(1, "partition");
        var load = WriteLoad.Start(new NatsJSContext(elsewhere), subject, "w", 1_000_000, TimeSpan.FromMinutes(4));
        await load.WaitForAcksAsync(200, PhaseTimeout, "writes before the cut", ct);

        await cluster.Platform.PartitionAsync(leader, ct);
        var cutAt = load.Elapsed;
        var acked = load.AckedCount;
        await load.WaitForAcksAsync(acked + 200, PhaseTimeout, $"writes resume on the majority side after cutting {leader} off", ct);

        // No split brain: the cut-off side, which led the stream, cannot acknowledge anything now.
        using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            attempt.CancelAfter(TimeSpan.FromSeconds(3));
            var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                var ack = await new NatsJSContext(isolated).PublishAsync(subject, "from the island", opts: new NatsJSPubOpts { MsgId = "island-1" }, cancellationToken: attempt.Token);
                ack.EnsureSuccess();
            });
            Assert.False(refused is Xunit.Sdk.XunitException, refused.Message);
        }

        await cluster.Platform.HealAsync(leader, ct);
        await cluster.Platform.WaitUntilFullyReplicatedAsync(TimeSpan.FromSeconds(90), ct);
        await load.WaitForAcksAsync(load.AckedCount + 100, PhaseTimeout, "writes after healing", ct);
        var acks = await load.StopAsync();

        // On the writer's own connection, so that a write cancelled by the stop lands before it, if at all.
        var marker = await ReplicatedPublisher.PublishAsync(new NatsJSContext(elsewhere), subject, "marker", "marker", ct);
        var stored = await StoredMessages.ReadAllAsync(js, stream, ct);
        Assert.DoesNotContain("from the island", stored);
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.Empty(acks.Select(a => a.MessageId).Except(stored));
        Assert.Equal((ulong)stored.Count, marker.Seq);
        Assert.True(cutAt > TimeSpan.Zero);
    }

    // nats-server's leader without quorum steps down only after 10 to 20 s (raft.go's lostQuorumInterval);
    // until then it answers leader reads, and after a shorter cut it answers them with the state of the
    // moment of the cut. The cut-off site's node makes its server give up every leadership at once.
    [Fact]
    public async Task A_cut_off_site_gives_up_its_leaderships_long_before_its_server_would()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct, proxiedLinks: true);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var led = await Task.WhenAll(cluster.Spec.Sites.Select(async site => (site, streams: await LeadershipsAsync(http, site, ct))));
        var (island, before) = led.MaxBy(l => l.streams.Count);
        Assert.NotEmpty(before);

        await cluster.Platform.PartitionAsync(island.Name, ct);
        var after = await Eventually.WaitForAsync(
            $"{island.Name}, cut off, leads none of the {before.Count} streams and buckets it led (the server alone would keep them 10 s or more)",
            TimeSpan.FromSeconds(5), c => LeadershipsAsync(http, island, c), streams => streams.Count == 0, ct);
        await cluster.Platform.HealAsync(island.Name, ct);
        await cluster.Platform.WaitUntilFullyReplicatedAsync(TimeSpan.FromSeconds(90), ct);

        Assert.Empty(after);
    }

    /// <summary>The streams and buckets whose leader is <paramref name="site"/>'s server (named after its site), as its own monitoring says.</summary>
    private static async Task<List<string>> LeadershipsAsync(HttpClient http, Haetae.Platform.Monitoring.SiteSpec site, CancellationToken ct)
    {
        using var jsz = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri(site.MonitorUri, "jsz?accounts=true&streams=true"), ct));
        return [.. (jsz.RootElement.TryGetProperty("account_details", out var accounts) ? accounts.EnumerateArray() : default)
            .SelectMany(a => a.TryGetProperty("stream_detail", out var streams) ? streams.EnumerateArray() : default)
            .Where(s => s.TryGetProperty("cluster", out var c) && c.TryGetProperty("leader", out var l) && l.GetString() == site.Name)
            .Select(s => s.GetProperty("name").GetString()!)];
    }
}
