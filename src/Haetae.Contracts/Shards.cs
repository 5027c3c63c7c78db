namespace Haetae.Contracts;

/// <summary>Maps a key (a chat id, a user id) to a shard with a hash that is the same in every process and version.</summary>
public static class Shards
{
    public static int Of(string key, int shardCount)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shardCount);

        // FNV-1a over UTF-16 code units: string.GetHashCode is randomized per process, which would send
        // the same chat to different shards from different nodes.
        const uint offsetBasis = 2166136261;
        const uint prime = 16777619;
        var hash = offsetBasis;
        foreach (var c in key)
        {
            hash = (hash ^ c) * prime;
        }

        return (int)(hash % (uint)shardCount);
    }
}
