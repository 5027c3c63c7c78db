using Haetae.Contracts;
using Haetae.Store;
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
}
