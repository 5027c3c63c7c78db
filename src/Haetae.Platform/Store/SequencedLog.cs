using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Platform.Store;

/// <summary>Where a <see cref="SequencedLog{T}"/> keeps its entries: the stream of a key, and one subject per entry.</summary>
/// <param name="StreamOf">The stream that holds a key's entries (for example its shard's).</param>
/// <param name="SubjectOf">The subject of entry <c>k</c> of a key, ending in ".k": written once, so "entry k" is one lookup.</param>
/// <param name="FilterOf">A subject filter matching every entry of a key (the subject with "*" for k).</param>
public sealed record LogLayout(Func<string, string> StreamOf, Func<string, long, string> SubjectOf, Func<string, string> FilterOf);

/// <summary>
/// A gap-free sequenced log per key (a chat's messages; a ledger next): entries 1, 2, 3... with no gap and
/// no duplicate, whichever site each writer is at. Appending takes the next free sequence with
/// compare-and-set (the write expects no earlier message on the entry's subject, so JetStream refuses a
/// second one), and a retry with the same message id returns what the first attempt stored.
/// </summary>
public sealed class SequencedLog<T>(INatsConnection connection, INatsJSContext js, LogLayout layout, Func<T, long> sequenceOf)
    where T : class
{
    /// <summary>The newest sequence this node has seen per key: where the next append starts looking (never beyond the truth).</summary>
    private readonly ConcurrentDictionary<string, long> _lastSeen = new();

    /// <summary>How long an append waits for another writer's write of the same sequence to settle.</summary>
    public static readonly TimeSpan InFlightPause = TimeSpan.FromMilliseconds(5);

    /// <summary>Notes a stored entry (from this node's appends, and from whatever feed the owner follows).</summary>
    public void Observe(string key, long sequence) => _lastSeen.AddOrUpdate(key, sequence, (_, seen) => Math.Max(seen, sequence));

    /// <summary>
    /// Appends <c>make(sequence)</c> at the next free sequence of <paramref name="key"/>. A retry with the same
    /// <paramref name="messageId"/> within JetStream's duplicate window returns the entry the first attempt
    /// stored and stores nothing new; <paramref name="isOurs"/> confirms that an entry returned as a duplicate
    /// is this request's (a leader that lost its quorum can answer "duplicate" for another one).
    /// </summary>
    public async Task<T> AppendAsync(string key, Func<long, T> make, string messageId, Func<T, bool> isOurs, CancellationToken cancellationToken)
    {
        // Start from what this node has seen; only a conflict costs a read of the key's newest sequence.
        var next = (_lastSeen.TryGetValue(key, out var seen) ? seen : await LastSequenceAsync(key, cancellationToken)) + 1;
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var entry = make(next);
            try
            {
                var ack = await ReplicatedPublisher.PublishAsync(
                    js, layout.SubjectOf(key, next), JsonSerializer.SerializeToUtf8Bytes(entry, HaetaeJson.Options), messageId, cancellationToken, expectedLastSubjectSequence: 0);
                var stored = ack.Duplicate ? await ReadStoredAsync(key, ack.Seq, cancellationToken) : entry;
                if (!isOurs(stored))
                {
                    // Nothing of ours is stored there: not done.
                    throw new ApiProblem(503, "Store electing", "the store's answer could not be confirmed; retry with the same request id");
                }

                Observe(key, sequenceOf(stored));
                return stored;
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == ReplicatedPublisher.WrongLastSequence)
            {
                // Another writer took this sequence: look at the key's newest and take the one after.
                next = Math.Max(next + 1, await LastSequenceAsync(key, cancellationToken) + 1);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == ReplicatedPublisher.SubjectInFlight)
            {
                // Another writer's write of this very sequence is still in flight. It may yet fail, so taking
                // the one after could leave a gap: ask again once it has settled (then it is taken, or free).
                await Task.Delay(InFlightPause, cancellationToken);
                next = await LastSequenceAsync(key, cancellationToken) + 1;
            }
        }

        throw new ApiProblem(503, "Log busy", "could not find a free sequence; retry with the same request id");
    }

    /// <summary>The newest sequence of <paramref name="key"/> (0 when it has no entry).</summary>
    public async Task<long> LastSequenceAsync(string key, CancellationToken cancellationToken) =>
        (await LastAsync(key, cancellationToken)).Sequence;

    /// <summary>
    /// The key's newest entry and its sequence (0 and null when it has none), in one read. From the leader,
    /// so that it never trails an entry acknowledged at another site; and never below what this node has
    /// seen itself, which matters while there is no leader and a trailing replica answers: a reader that
    /// starts following a key catches up to this, and an entry handed out just before would otherwise
    /// reach it only with the key's next entry.
    /// </summary>
    public async Task<(long Sequence, T? Entry)> LastAsync(string key, CancellationToken cancellationToken)
    {
        var last = await DirectReads.GetLastFromLeaderAsync(connection, layout.StreamOf(key), layout.FilterOf(key), cancellationToken);
        var sequence = last is null ? 0 : SequenceOf(last.Subject);
        Observe(key, sequence);
        var seen = _lastSeen.GetValueOrDefault(key);
        if (seen > sequence)
        {
            return (seen, await GetAsync(key, seen, cancellationToken, fromLeader: true));
        }

        return last is null ? (0, null) : (sequence, JsonSerializer.Deserialize<T>(last.Data.Span, HaetaeJson.Options));
    }

    /// <summary>
    /// Entry <paramref name="sequence"/> of <paramref name="key"/>. Each entry's subject is written once, so any
    /// replica that has it has the right one; <paramref name="fromLeader"/> asks the leader, for one a trailing replica lacks.
    /// </summary>
    public async Task<T?> GetAsync(string key, long sequence, CancellationToken cancellationToken, bool fromLeader = false)
    {
        var (stream, subject) = (layout.StreamOf(key), layout.SubjectOf(key, sequence));
        var entry = fromLeader
            ? await DirectReads.GetLastFromLeaderAsync(connection, stream, subject, cancellationToken)
            : await DirectReads.GetLastAsync(connection, stream, subject, cancellationToken);
        return entry is null ? null : JsonSerializer.Deserialize<T>(entry.Data.Span, HaetaeJson.Options);
    }

    /// <summary>
    /// Entries from <paramref name="first"/> to <paramref name="last"/> inclusive, ascending, without gaps: an
    /// entry a trailing replica does not have yet is asked of the leader, and the page ends before the first
    /// one still missing (only while the stream elects a leader).
    /// </summary>
    public async Task<IReadOnlyList<T>> RangeAsync(string key, long first, long last, CancellationToken cancellationToken)
    {
        if (last < first)
        {
            return [];
        }

        var found = new T?[last - first + 1];
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var missing = Enumerable.Range(0, found.Length).Where(i => found[i] is null).ToList();
            if (missing.Count == 0)
            {
                break;
            }

            var fetched = await Task.WhenAll(missing.Select(i => GetAsync(key, first + i, cancellationToken, fromLeader: attempt > 0)));
            for (var j = 0; j < missing.Count; j++)
            {
                found[missing[j]] = fetched[j];
            }

            if (fetched.Any(m => m is null))
            {
                await Task.Delay(10 * (attempt + 1), cancellationToken);
            }
        }

        return [.. found.TakeWhile(m => m is not null).Select(m => m!)];
    }

    private async Task<T> ReadStoredAsync(string key, ulong streamSequence, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var entry = await DirectReads.GetAsync(connection, layout.StreamOf(key), streamSequence, cancellationToken);
            if (entry is not null)
            {
                return JsonSerializer.Deserialize<T>(entry.Data.Span, HaetaeJson.Options)!;
            }

            if (attempt >= 20)
            {
                throw new ApiProblem(503, "Store catching up", "the stored entry is not readable yet; retry with the same request id");
            }

            // The replica that answered trails the leader that acknowledged; it catches up in milliseconds.
            await Task.Delay(10, cancellationToken);
        }
    }

    private static long SequenceOf(string subject) =>
        long.Parse(subject.AsSpan(subject.LastIndexOf('.') + 1), CultureInfo.InvariantCulture);
}
