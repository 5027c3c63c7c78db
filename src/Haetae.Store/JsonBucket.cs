using System.Text.Json;
using NATS.Client.KeyValueStore;

namespace Haetae.Store;

/// <summary>A value read from a bucket with the revision to compare against when changing it.</summary>
public sealed record Versioned<T>(T Value, ulong Revision);

/// <summary>
/// A replicated KV bucket holding JSON values, with compare-and-set. Reads go to any replica, so a read
/// may trail the newest write by the writes in flight; every change is a compare-and-set on the revision
/// read, so a stale read makes a change retry, never overwrite.
/// </summary>
public sealed class JsonBucket(INatsKVStore store)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => store.Bucket;

    public async Task<Versioned<T>?> TryGetAsync<T>(string key, CancellationToken cancellationToken)
    {
        var result = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken);
        if (!result.Success || result.Value.Value is not { Length: > 0 } bytes)
        {
            return null;
        }

        return new Versioned<T>(JsonSerializer.Deserialize<T>(bytes, Json)!, result.Value.Revision);
    }

    /// <summary>Creates <paramref name="key"/>; false if it exists already.</summary>
    public async Task<bool> TryCreateAsync<T>(string key, T value, CancellationToken cancellationToken)
    {
        try
        {
            await store.CreateAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, Json), cancellationToken: cancellationToken);
            return true;
        }
        catch (NatsKVCreateException)
        {
            return false;
        }
    }

    public Task<ulong> PutAsync<T>(string key, T value, CancellationToken cancellationToken) =>
        store.PutAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, Json), cancellationToken: cancellationToken).AsTask();

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        store.DeleteAsync(key, cancellationToken: cancellationToken).AsTask();

    /// <summary>
    /// Applies <paramref name="change"/> to the current value (null when absent) with compare-and-set,
    /// reading again and retrying when another writer got there first. <paramref name="change"/> may throw
    /// to refuse the change; it must not have side effects, as it can run more than once.
    /// </summary>
    public async Task<T> UpdateAsync<T>(string key, Func<T?, T> change, CancellationToken cancellationToken)
        where T : class
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = await TryGetAsync<T>(key, cancellationToken);
            var next = change(current?.Value);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(next, Json);
            try
            {
                if (current is null)
                {
                    await store.CreateAsync(key, bytes, cancellationToken: cancellationToken);
                }
                else
                {
                    await store.UpdateAsync(key, bytes, current.Revision, cancellationToken: cancellationToken);
                }

                return next;
            }
            catch (Exception e) when (e is NatsKVCreateException or NatsKVWrongLastRevisionException && attempt < 50)
            {
                // Someone else changed it since we read it (or our read trailed): read again.
                await Task.Delay(Math.Min(5 * attempt, 50), cancellationToken);
            }
        }
    }
}

/// <summary>Opens the catalog's buckets once and hands them out.</summary>
public sealed class Buckets(NATS.Client.JetStream.INatsJSContext js)
{
    private readonly NatsKVContext _kv = new(js);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<JsonBucket>>> _open = new();

    public async Task<JsonBucket> GetAsync(string bucket)
    {
        var opening = _open.GetOrAdd(bucket, name => new Lazy<Task<JsonBucket>>(async () => new JsonBucket(await _kv.GetStoreAsync(name))));
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
}
