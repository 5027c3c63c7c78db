using System.Collections.Concurrent;
using System.Text.Json;
using Haetae.Contracts;
using NATS.Client.KeyValueStore;

namespace Haetae.Platform.Store;

/// <summary>
/// A node-local copy of the entries of one bucket that the hot path reads on every request (signed-out
/// sessions), kept current by watching the bucket. A value read from the
/// store is kept only if no newer revision arrived meanwhile; every change seen by the watch is kept.
/// While the watch is not running the cache is empty and every read goes to the store, so a broken
/// watch (its server burned) costs speed, never correctness. A change reaches every node's cache within
/// the watch's delivery time (milliseconds on a healthy link).
/// </summary>
public sealed class BucketCache<T>(Buckets buckets, string bucket, string keyPrefix, int capacity = 100_000)
    where T : class
{
    private readonly ConcurrentDictionary<string, (T? Value, ulong Revision)> _entries = new();
    private volatile bool _watching;

    /// <summary>Raised (on the watch's thread) with each key the watch saw put: what follows a key learns at once, without asking.</summary>
    public event Action<string, T>? Put;

    /// <summary>Raised when a watch starts to be used: what was put while no watch ran was not raised, so followers ask once again.</summary>
    public event Action? Watching;

    /// <summary>Changes whenever the watch starts or stops: a read that spans a change is not kept.</summary>
    private long _generation;

    public async Task<T?> GetAsync(Key<T> key, CancellationToken cancellationToken)
    {
        if (_watching && _entries.TryGetValue(key.Name, out var cached))
        {
            return cached.Value;
        }

        var generation = Interlocked.Read(ref _generation);
        var watching = _watching;
        var store = await buckets.GetAsync(bucket);
        var read = await store.TryGetAsync<T>(key, cancellationToken);
        if (watching && _watching && Interlocked.Read(ref _generation) == generation)
        {
            Keep(key.Name, read?.Value, read?.Revision ?? 0);
        }

        return read?.Value;
    }

    /// <summary>Watches the bucket until cancelled, starting again (with an empty cache) whenever the watch breaks.</summary>
    public Task RunAsync(CancellationToken stoppingToken) => ResilientWatch.RunAsync(WatchOnceAsync, stoppingToken);

    private async Task WatchOnceAsync(CancellationToken stoppingToken)
    {
        using var probing = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            var store = await buckets.Context.GetStoreAsync(bucket, stoppingToken);

            // The watch only reports changes made after its consumer exists, and there is no signal for
            // that moment; so the cache is used only once the watch has reported a probe written after it started.
            var probeKey = $"{keyPrefix}_probe-{Guid.NewGuid():N}";
            _ = ProbeAsync(store, probeKey, probing.Token);
            await foreach (var entry in store.WatchAsync<byte[]>($"{keyPrefix}>", opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: stoppingToken))
            {
                if (entry.Key == probeKey)
                {
                    if (!_watching)
                    {
                        Interlocked.Increment(ref _generation);
                        _watching = true;
                        Watching?.Invoke();
                        await probing.CancelAsync();
                        await store.PurgeAsync(probeKey, cancellationToken: stoppingToken);
                    }

                    continue;
                }

                var value = entry.Operation == NatsKVOperation.Put && entry.Value is { Length: > 0 } bytes ? JsonSerializer.Deserialize<T>(bytes, HaetaeJson.Options) : null;
                _entries[entry.Key] = (value, entry.Revision);
                if (_entries.Count > capacity)
                {
                    _entries.Clear();
                }

                if (value is not null)
                {
                    Put?.Invoke(entry.Key, value);
                }
            }
        }
        finally
        {
            // Not watching: every read goes to the store until the next watch has seen its probe.
            _watching = false;
            Interlocked.Increment(ref _generation);
            _entries.Clear();
            await probing.CancelAsync();
        }
    }

    private static async Task ProbeAsync(INatsKVStore store, string probeKey, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await store.PutAsync(probeKey, "{}"u8.ToArray(), cancellationToken: cancellationToken);
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
        catch (Exception)
        {
            // Probing stops with the watch; a failed put is retried by the next watch attempt.
        }
    }

    private void Keep(string key, T? value, ulong revision) =>
        _entries.AddOrUpdate(key, (value, revision), (_, existing) => existing.Revision > revision ? existing : (value, revision));
}
