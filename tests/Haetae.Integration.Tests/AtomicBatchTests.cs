using System.Text;
using Haetae.Platform.Store;
using Haetae.Testing;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Haetae.Integration.Tests;

/// <summary>The kit's atomic batch against the real servers: all of a batch stored, or none of it, whichever site writes.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class AtomicBatchTests(SharedClusterFixture fixture)
{
    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task A_batch_is_stored_whole_and_one_stale_expectation_refuses_all_of_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var sites = await fixture.Cluster.ConnectEachSiteAsync();
        var js = new NatsJSContext(sites.Connections[0]);
        var run = Guid.NewGuid().ToString("N")[..8];
        var stream = $"ATOMIC_{run}";
        await js.CreateStreamAsync(new StreamConfig(stream, [$"atomic.{run}.>"]) { NumReplicas = 3, AllowAtomicPublish = true }, ct);
        try
        {
            // Through an election's worth of retries: a stream just created is not yet known to every server
            // (no responders), and such a batch stored nothing, so sending it again is safe.
            Task<BatchAck> PublishAsync(int site, IReadOnlyList<BatchMessage> batch) =>
                StoreRetry.ThroughElectionAsync(() => AtomicBatch.PublishAsync(sites.Connections[site], batch, ct), ct);

            async Task<ulong> LastOfAsync(string subject) =>
                (await DirectReads.GetLastFromLeaderAsync(sites.Connections[0], stream, subject, ct))?.Sequence ?? 0;

            // Three messages, two of them with expectations that hold: all three stored, in order.
            var ack = await PublishAsync(1, [
                new BatchMessage($"atomic.{run}.a", Text("a1"), 0),
                new BatchMessage($"atomic.{run}.b", Text("b1")),
                new BatchMessage($"atomic.{run}.c", Text("c1"), 0)]);
            Assert.Equal(3, ack.Count);
            var (a, b, c) = (await LastOfAsync($"atomic.{run}.a"), await LastOfAsync($"atomic.{run}.b"), await LastOfAsync($"atomic.{run}.c"));
            Assert.Equal([ack.Sequence - 2, ack.Sequence - 1, ack.Sequence], [a, b, c]);

            // The second message expects a sequence "a" no longer has: nothing of the batch is stored.
            await PublishAsync(2, [new BatchMessage($"atomic.{run}.a", Text("a2"), a)]);
            var refused = await Assert.ThrowsAsync<NatsJSApiException>(() => PublishAsync(0, [
                new BatchMessage($"atomic.{run}.b", Text("b2"), b),
                new BatchMessage($"atomic.{run}.a", Text("a3"), a),
                new BatchMessage($"atomic.{run}.d", Text("d1"), 0)]));
            Assert.Equal(ReplicatedPublisher.WrongLastSequence, refused.Error.ErrCode);
            Assert.Equal(b, await LastOfAsync($"atomic.{run}.b"));
            Assert.Equal(0UL, await LastOfAsync($"atomic.{run}.d"));

            // Twelve writers at three sites race for one subject, each also writing one of its own: one batch wins whole.
            var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
            {
                try
                {
                    await PublishAsync(i % 3, [
                        new BatchMessage($"atomic.{run}.own{i}", Text($"own{i}"), 0),
                        new BatchMessage($"atomic.{run}.prize", Text($"prize{i}"), 0)]);
                    return true;
                }
                catch (NatsJSApiException)
                {
                    return false;
                }
            }));
            Assert.Single(outcomes, won => won);
            var owned = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => LastOfAsync($"atomic.{run}.own{i}")));
            Assert.Equal(outcomes, owned.Select(seq => seq > 0));
        }
        finally
        {
            await js.DeleteStreamAsync(stream, CancellationToken.None);
        }
    }
}
