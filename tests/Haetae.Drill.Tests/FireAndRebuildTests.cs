using Haetae.Cluster;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Drill.Tests;

/// <summary>Sites burned for real (SIGKILL, data deleted) through the same code as `haetae fire`.</summary>
public sealed class FireAndRebuildTests
{
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Burning_the_site_that_leads_a_stream_loses_no_acknowledged_write_and_rebuild_restores_three_caught_up_replicas()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: false, cancellationToken: ct);
        var stream = Assets.ChatStream(0);
        await using var connection = await cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var leader = (await js.GetStreamAsync(stream, cancellationToken: ct)).Info.Cluster!.Leader!;

        var load = WriteLoad.Start(js, Assets.ChatSubject(0, "fire-test"), "w", maxMessages: 1_000_000, maxDuration: TimeSpan.FromMinutes(4));
        await load.WaitForAcksAsync(300, PhaseTimeout, "writes before the fire", ct);

        await cluster.Platform.FireAsync(leader, ct);
        var ackedAtFire = load.AckedCount;
        await load.WaitForAcksAsync(ackedAtFire + 300, PhaseTimeout, $"writes resume after burning {leader}", ct);

        var newLeader = (await js.GetStreamAsync(stream, cancellationToken: ct)).Info.Cluster!.Leader;
        Assert.NotEqual(leader, newLeader);

        await cluster.Platform.RebuildAsync(leader, ct);
        var ackedAtRebuild = load.AckedCount;

        // "Rebuilt" means caught up at that moment, not eventually.
        var copyAtReturn = (await cluster.Platform.Monitoring.TryGetJetStreamAsync(cluster.Spec.Site(leader), ct))!
            .Accounts!.Single(a => a.Name == NatsServerConfig.AppAccount).Streams!.Single(s => s.Name == stream).State!.LastSequence;
        Assert.InRange((ulong)ackedAtRebuild, 0ul, copyAtReturn + ClusterStatus.CaughtUpLag);
        await load.WaitForAcksAsync(ackedAtRebuild + 300, PhaseTimeout, "writes after the rebuild", ct);
        var acks = await load.StopAsync();

        // A write cancelled by the stop may still land; a marker sent after it on the same connection
        // lands after it, so everything up to the marker is settled.
        var marker = await Haetae.Platform.Store.ReplicatedPublisher.PublishAsync(js, Assets.ChatSubject(0, "fire-test"), "marker", "marker", ct);
        var stored = await StoredMessages.ReadAllAsync(js, stream, ct);
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.Empty(acks.Select(a => a.MessageId).Except(stored));
        Assert.Equal(acks.Count, acks.Select(a => a.Sequence).Distinct().Count());

        // Full redundancy again, and the rebuilt site holds every message itself.
        var status = await cluster.Platform.ReadStatusAsync(ct);
        Assert.True(status.FullyReplicated, string.Join("; ", status.Behind.Select(b => $"{b.Stream}@{b.Site}: {b.Reason}")));
        Assert.All(status.Assets, a => Assert.Equal(3, a.Peers.Distinct().Count()));
        Assert.Equal("marker", stored[^1]);
        Assert.Equal((ulong)stored.Count, marker.Seq);
        var rebuiltCopy = await Eventually.WaitForAsync(
            $"the rebuilt {leader} holds every message",
            PhaseTimeout,
            async token => (await cluster.Platform.Monitoring.TryGetJetStreamAsync(cluster.Spec.Site(leader), token))?
                .Accounts?.SingleOrDefault(a => a.Name == NatsServerConfig.AppAccount)?.Streams?.SingleOrDefault(s => s.Name == stream)?.State,
            state => state?.LastSequence == marker.Seq,
            ct);
        Assert.Equal((ulong)stored.Count, rebuiltCopy!.Messages);
    }

    [Fact]
    public async Task A_burned_site_cannot_be_burned_again_and_a_running_site_cannot_be_rebuilt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: false, cancellationToken: ct);
        var site = cluster.Spec.Sites[1].Name;

        var running = await Assert.ThrowsAsync<PlatformException>(() => cluster.Platform.RebuildAsync(site, ct));
        Assert.Equal($"site '{site}' is running, not burned; only a burned site is rebuilt", running.Message);

        await cluster.Platform.FireAsync(site, ct);
        var again = await Assert.ThrowsAsync<PlatformException>(() => cluster.Platform.FireAsync(site, ct));
        Assert.Equal($"site '{site}' is already burning", again.Message);
        Assert.False(Directory.Exists(cluster.Spec.DataDirectory(site)));
        Assert.All(cluster.Platform.Describe().Site(site)!.Processes, p => Assert.False(p.Alive));

        var unknown = await Assert.ThrowsAsync<PlatformException>(() => cluster.Platform.FireAsync("mars", ct));
        Assert.StartsWith("unknown site 'mars'", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disposing_the_harness_stops_every_process_and_deletes_its_folder()
    {
        var ct = TestContext.Current.CancellationToken;
        var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct);
        var pids = cluster.Platform.Describe().Sites.SelectMany(s => s.Processes).Select(p => p.Pid!.Value).ToList();
        Assert.Equal(6, pids.Count);

        await cluster.DisposeAsync();

        Assert.All(pids, pid => Assert.False(ChildProcesses.IsAlive(pid), $"process {pid} outlived the harness"));
        Assert.False(Directory.Exists(cluster.Home));
    }
}
