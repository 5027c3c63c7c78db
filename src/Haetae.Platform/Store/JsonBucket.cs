using System.Text.Json;
using Haetae.Contracts;
using NATS.Client.KeyValueStore;

namespace Haetae.Platform.Store;

/// <summary>A value read from a bucket with the revision to compare against when changing it.</summary>
public sealed record Versioned<T>(T Value, ulong Revision);

/// <summary>
/// A replicated KV bucket holding JSON values, with compare-and-set. Reads go to the bucket's leader, so
/// they reflect every write acknowledged at any site; while the bucket has no leader (an election), the
/// nearest replica answers. Every change is a compare-and-set on the revision read, so a stale read
/// (during an election) makes a change retry, never overwrite.
/// </summary>
public sealed class JsonBucket(INatsKVStore store, NATS.Client.JetStream.INatsJSContext js)
{

    /// <summary>
    /// The newest value (from the leader), so that whoever wrote it, or was told of it, reads it back at any
    /// site; during an election, when no leader answers, the replica's value is the best there is (reads
    /// pause at most <see cref="DirectReads.LeaderTimeout"/>, and may trail for the seconds an election takes).
    /// </summary>
    public Task<Versioned<T>?> TryGetAsync<T>(Key<T> key, CancellationToken cancellationToken) =>
        ReadAsync<T>(key.Name, replicaWhenNoLeader: true, cancellationToken);

    /// <summary>
    /// The newest value of <paramref name="key"/> as the bucket's leader has it (null when absent), for
    /// reads that must not trail a write already acknowledged, even during an election: throws when no
    /// leader answers (callers retry through elections).
    /// </summary>
    public Task<Versioned<T>?> GetFromLeaderAsync<T>(Key<T> key, CancellationToken cancellationToken) =>
        ReadAsync<T>(key.Name, replicaWhenNoLeader: false, cancellationToken);

    private async Task<Versioned<T>?> ReadAsync<T>(string key, bool replicaWhenNoLeader, CancellationToken cancellationToken)
    {
        var entry = await DirectReads.GetLastFromLeaderAsync(js.Connection, $"KV_{store.Bucket}", $"$KV.{store.Bucket}.{key}", cancellationToken, replicaWhenNoLeader);
        return entry is null || entry.Data.Length == 0 || entry.Headers?.Contains("KV-Operation", StringComparison.Ordinal) == true
            ? null
            : new Versioned<T>(JsonSerializer.Deserialize<T>(entry.Data.Span, HaetaeJson.Options)!, entry.Sequence);
    }

    /// <summary>Creates <paramref name="key"/>; false if it exists already.</summary>
    public async Task<bool> TryCreateAsync<T>(Key<T> key, T value, CancellationToken cancellationToken) =>
        await CreateAsync(key, value, cancellationToken) is not null;

    /// <summary>Creates <paramref name="key"/> and returns its revision; null if it exists already.</summary>
    public async Task<ulong?> CreateAsync<T>(Key<T> key, T value, CancellationToken cancellationToken) =>
        Written(await store.TryCreateAsync(key.Name, JsonSerializer.SerializeToUtf8Bytes(value, HaetaeJson.Options), cancellationToken: cancellationToken));

    /// <summary>Replaces <paramref name="key"/> only if it is still at <paramref name="revision"/>; null if it changed since.</summary>
    public async Task<ulong?> ReplaceAsync<T>(Key<T> key, T value, ulong revision, CancellationToken cancellationToken) =>
        Written(await store.TryUpdateAsync(key.Name, JsonSerializer.SerializeToUtf8Bytes(value, HaetaeJson.Options), revision, cancellationToken: cancellationToken));

    /// <summary>The new revision; null when the compare-and-set lost; anything else (an outage) is thrown.</summary>
    private static ulong? Written(NATS.Client.Core.NatsResult<ulong> result) =>
        result.Success ? result.Value
        : result.Error is NatsKVCreateException or NatsKVWrongLastRevisionException ? null
        : throw result.Error;

    /// <summary>Every live key matching <paramref name="filter"/> (a subject filter such as "token.abc.*"); none in an empty bucket.</summary>
    public async IAsyncEnumerable<string> KeysAsync(string filter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var keys = store.GetKeysAsync([filter], cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await keys.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (NatsKVException e) when (e.Message.Contains("no keys", StringComparison.OrdinalIgnoreCase))
            {
                // An empty bucket answers "no keys found": that is no keys.
                yield break;
            }

            yield return keys.Current;
        }
    }

    public Task<ulong> PutAsync<T>(Key<T> key, T value, CancellationToken cancellationToken) =>
        store.PutAsync(key.Name, JsonSerializer.SerializeToUtf8Bytes(value, HaetaeJson.Options), cancellationToken: cancellationToken).AsTask();

    public Task DeleteAsync<T>(Key<T> key, CancellationToken cancellationToken) =>
        store.DeleteAsync(key.Name, cancellationToken: cancellationToken).AsTask();

    /// <summary>
    /// Applies <paramref name="change"/> to the current value (null when absent) with compare-and-set,
    /// reading again and retrying when another writer got there first. <paramref name="change"/> may throw
    /// to refuse the change; it must not have side effects, as it can run more than once.
    /// </summary>
    public async Task<T> UpdateAsync<T>(Key<T> key, Func<T?, T> change, CancellationToken cancellationToken)
        where T : class
    {
        // Someone else changed it since we read it (or our read trailed): read again.
        var outcome = await StoreRetry.Conflicts<T>(50).ExecuteAsync(async ct =>
        {
            var current = await TryGetAsync<T>(key, ct);
            var next = change(current?.Value);
            var written = current is null ? await CreateAsync(key, next, ct) : await ReplaceAsync(key, next, current.Revision, ct);
            return written is null ? Conflicted<T>.Lost : Conflicted<T>.Done(next);
        }, cancellationToken);
        return outcome.Conflict
            ? throw new Hosting.ApiProblem(503, "Store busy", "the value kept changing under this request; retry with the same request id")
            : outcome.Value;
    }
}

/// <summary>Opens the catalog's buckets once and hands them out.</summary>
public sealed class Buckets(NATS.Client.JetStream.INatsJSContext js)
{
    private readonly NatsKVContext _kv = new(js);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<JsonBucket>>> _open = new();

    public async Task<JsonBucket> GetAsync(string bucket)
    {
        var opening = _open.GetOrAdd(bucket, name => new Lazy<Task<JsonBucket>>(async () => new JsonBucket(await _kv.GetStoreAsync(name), js)));
        try
        {
            return await opening.Value;
        }
        catch
        {
            // Not cached: the next caller tries again (the store may have been electing a leader).
            _open.TryRemove(new KeyValuePair<string, Lazy<Task<JsonBucket>>>(bucket, opening));
            throw;
        }
    }

    public INatsKVContext Context => _kv;

    public NATS.Client.JetStream.INatsJSContext JetStream => js;
}
