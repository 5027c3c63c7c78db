using Haetae.Contracts;
using Haetae.Modules;

namespace Haetae.Cluster.Tests;

public sealed class ShardsTests
{
    [Fact]
    public void The_same_key_maps_to_the_same_shard_in_every_process()
    {
        // FNV-1a values fixed here: a change would move existing chats to other streams.
        Assert.Equal(4, Shards.Of("a", 8));
        Assert.Equal(0, Shards.Of("chat-42", 8));
        Assert.Equal(5, Shards.Of("해태", 8));
    }

    [Fact]
    public void Keys_spread_over_every_shard()
    {
        var counts = Enumerable.Range(0, 8000).GroupBy(i => Shards.Of($"chat-{i}", 8)).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(8, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 800, 1200));
    }

    [Fact]
    public void Catalog_names_each_backing_stream_once_with_three_replicas()
    {
        var all = PlatformModules.Catalog.All;
        Assert.Equal(all.Count, all.Select(a => a.StreamName).Distinct().Count());
        Assert.Equal(Assets.ChatShards, all.OfType<StreamAsset>().Count(a => a.Name.StartsWith("CHAT_", StringComparison.Ordinal)));
        Assert.Equal("CHAT_07", Assets.ChatStream(7));
        Assert.Equal("KV_accounts", all.OfType<KvAsset>().Single(b => b.Bucket == Assets.AccountsBucket).StreamName);
        Assert.Equal(3, Assets.Replicas);
    }
}
