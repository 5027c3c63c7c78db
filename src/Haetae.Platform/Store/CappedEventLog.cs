namespace Haetae.Platform.Store;

/// <summary>The stored form of a <see cref="CappedEventLog{T}"/>: the newest events, oldest first.</summary>
public sealed record LoggedEvents<T>(IReadOnlyList<T> Events);

/// <summary>
/// A capped event log that every site shares: one entry of a replicated bucket holding the newest
/// <paramref name="capacity"/> events, appended with compare-and-set so that writers at every site agree.
/// Every node may record what it sees: an event whose subject's newest recorded event already has the
/// same kind (another node saw the same change first) is not recorded again.
/// </summary>
/// <param name="subjectOf">What an event is about (a site); <paramref name="kindOf"/>: what happened to it (lost, back).</param>
public sealed class CappedEventLog<T>(Buckets buckets, string bucket, string key, int capacity, Func<T, string> subjectOf, Func<T, string> kindOf)
{
    /// <summary>Appends <paramref name="events"/> (oldest first); throws when the store does not answer, so the caller keeps them for its next try.</summary>
    public async Task AppendAsync(IReadOnlyCollection<T> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        var store = await buckets.GetAsync(bucket);
        await store.UpdateAsync(new Key<LoggedEvents<T>>(key), current => new LoggedEvents<T>(Merge(current?.Events ?? [], events, capacity, subjectOf, kindOf)), cancellationToken);
    }

    /// <summary>The events kept, oldest first (from the leader; during an election, the nearest replica's).</summary>
    public async Task<IReadOnlyList<T>> ReadAsync(CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(bucket);
        return (await store.TryGetAsync(new Key<LoggedEvents<T>>(key), cancellationToken))?.Value.Events ?? [];
    }

    /// <summary>The log after appending <paramref name="pending"/> to <paramref name="existing"/>: repeats dropped, the newest <paramref name="capacity"/> kept.</summary>
    public static IReadOnlyList<T> Merge(IReadOnlyList<T> existing, IEnumerable<T> pending, int capacity, Func<T, string> subjectOf, Func<T, string> kindOf)
    {
        var events = existing.ToList();
        foreach (var e in pending)
        {
            var subject = subjectOf(e);
            var latest = events.FindLast(x => subjectOf(x) == subject);
            if (latest is null || kindOf(latest) != kindOf(e))
            {
                events.Add(e);
            }
        }

        return [.. events.TakeLast(capacity)];
    }
}
