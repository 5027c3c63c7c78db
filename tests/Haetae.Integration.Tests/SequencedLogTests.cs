using Haetae.Contracts;
using Haetae.Platform.Store;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Integration.Tests;

/// <summary>The kit's gap-free sequenced log against the real servers, on a stream of its own.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class SequencedLogTests(SharedClusterFixture fixture)
{
    private sealed record Entry(string Key, long Sequence, string Writer, int N);

    [Fact]
    public async Task Writers_at_three_sites_get_one_sequence_without_gaps_and_a_retry_returns_the_first_entry()
    {
        var ct = TestContext.Current.CancellationToken;
        var run = Guid.NewGuid().ToString("N")[..12];
        var stream = $"SEQTEST_{run}";
        await using var sites = await fixture.Cluster.ConnectEachSiteAsync();
        var connections = sites.Connections;
        try
        {
            await AssetProvisioner.ProvisionUntilAnsweredAsync(new NatsJSContext(connections[0]), new StreamAsset(stream, [$"seqtest{run}.>"]), ct);
            var layout = new LogLayout(_ => stream, (key, k) => $"seqtest{run}.{key}.{k}", key => $"seqtest{run}.{key}.*");
            var logs = connections.Select(c => new SequencedLog<Entry>(c, new NatsJSContext(c), layout, e => e.Sequence)).ToArray();
            const int perWriter = 20;

            var appended = await Task.WhenAll(logs.Select(async (log, writer) =>
            {
                var mine = new List<Entry>();
                for (var n = 0; n < perWriter; n++)
                {
                    var (w, i) = ($"w{writer}", n);
                    mine.Add(await log.AppendAsync("k", k => new Entry("k", k, w, i), $"{w}:{i}", e => e.Writer == w && e.N == i, ct));
                }

                return mine;
            }));

            var all = appended.SelectMany(a => a).ToList();
            Assert.Equal(Enumerable.Range(1, 3 * perWriter).Select(i => (long)i), all.Select(e => e.Sequence).Order());
            Assert.Equal(3 * perWriter, await logs[1].LastSequenceAsync("k", ct));
            var read = await logs[2].RangeAsync("k", 1, 3 * perWriter, ct);
            Assert.Equal(all.OrderBy(e => e.Sequence), read);

            // A retry at another site, with the same message id: the first entry, nothing stored.
            var first = appended[0][5];
            var retried = await logs[2].AppendAsync("k", k => new Entry("k", k, "w0", 5), "w0:5", e => e.Writer == "w0" && e.N == 5, ct);
            Assert.Equal(first, retried);
            Assert.Equal(3 * perWriter, await logs[0].LastSequenceAsync("k", ct));
        }
        finally
        {
            await new NatsJSContext(connections[0]).DeleteStreamAsync(stream, ct);
        }
    }
}
