using System.Diagnostics;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace Haetae.Platform.Hosting;

/// <summary>One service's requests in one second at one node.</summary>
/// <param name="Second">Unix seconds.</param>
/// <param name="Slow">Requests answered after more than <see cref="Traffic.SlowAfter"/>.</param>
/// <param name="LongestWriteMs">The longest write (a request that is not a GET) that ended in this second.</param>
public sealed record TrafficSecond(long Second, string Service, int Requests, int Errors, int Slow, int LongestWriteMs);

/// <summary>A person whose request failed or waited past <see cref="Traffic.SlowAfter"/>, in one second.</summary>
public sealed record AffectedPerson(long Second, string Service, string User);

/// <summary>What one node observed of real traffic lately: what status pages and incidents are computed from.</summary>
/// <param name="OldestWriteMs">Per service, how long the oldest write still in flight has waited (a pause under way shows before it ends).</param>
/// <param name="StuckWrites">Per service, how many writes in flight have waited longer than <see cref="Traffic.SlowAfter"/>.</param>
public sealed record TrafficReport(
    string Site,
    DateTimeOffset At,
    bool Isolated,
    bool Evacuating,
    DateTimeOffset? IsolatedSince,
    IReadOnlyList<TrafficSecond> Seconds,
    IReadOnlyDictionary<string, int> OldestWriteMs,
    IReadOnlyList<AffectedPerson> Affected,
    IReadOnlyDictionary<string, int>? StuckWrites = null);

/// <summary>
/// Requests this node answered, by service and second, kept for <see cref="Kept"/>: totals for the console,
/// error rates and write pauses for the status page, and the people who had a request fail or wait.
/// </summary>
public sealed class Traffic(ServiceSurfaces surfaces, TimeProvider time)
{
    /// <summary>A request answered later than this counted its person as affected.</summary>
    public static readonly TimeSpan SlowAfter = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan Kept = TimeSpan.FromMinutes(3);

    /// <summary>At most this many people are remembered per second (a count past it is "at least").</summary>
    private const int AffectedPerSecond = 5_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<(long Second, string Service), Counter> _seconds = [];
    private readonly Dictionary<long, HashSet<(string Service, string User)>> _affected = [];
    private readonly Dictionary<long, (string Service, long Started)> _writes = [];
    private long _requests;
    private long _errors;
    private long _nextWrite;

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    public async Task CountAsync(HttpContext http, Func<Task> next)
    {
        Interlocked.Increment(ref _requests);
        var service = surfaces.ServiceOf(http.Request.Path.Value ?? "");
        // A realtime socket lasts as long as the device stays: not a request that waits.
        var timed = service is not null && !http.WebSockets.IsWebSocketRequest;
        var write = timed && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method) && !HttpMethods.IsOptions(http.Request.Method);
        var started = Stopwatch.GetTimestamp();
        var writeId = 0L;
        if (write)
        {
            lock (_gate)
            {
                writeId = ++_nextWrite;
                _writes[writeId] = (service!, started);
            }
        }

        var failed = false;
        try
        {
            await next();
            failed = http.Response.StatusCode >= 500;
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            if (failed)
            {
                Interlocked.Increment(ref _errors);
            }

            if (timed)
            {
                Record(service!, write ? writeId : 0, Stopwatch.GetElapsedTime(started), failed, http.User.FindFirst("sub")?.Value ?? http.User.FindFirst(ClaimTypes.NameIdentifier)?.Value);
            }
        }
    }

    /// <summary>A write that did not come as an HTTP request (a device's send over its realtime connection), counted as one would be.</summary>
    public async Task<T> CountWriteAsync<T>(string service, string person, Func<Task<T>> write, Func<T, bool> failed)
    {
        Interlocked.Increment(ref _requests);
        var started = Stopwatch.GetTimestamp();
        long writeId;
        lock (_gate)
        {
            writeId = ++_nextWrite;
            _writes[writeId] = (service, started);
        }

        var bad = true;
        try
        {
            var result = await write();
            bad = failed(result);
            return result;
        }
        finally
        {
            if (bad)
            {
                Interlocked.Increment(ref _errors);
            }

            Record(service, writeId, Stopwatch.GetElapsedTime(started), bad, person);
        }
    }

    private void Record(string service, long writeId, TimeSpan took, bool failed, string? person)
    {
        var second = time.GetUtcNow().ToUnixTimeSeconds();
        var slow = took > SlowAfter;
        lock (_gate)
        {
            if (writeId != 0)
            {
                _writes.Remove(writeId);
            }

            if (!_seconds.TryGetValue((second, service), out var counter))
            {
                counter = _seconds[(second, service)] = new Counter();
                Prune(second);
            }

            counter.Requests++;
            counter.Errors += failed ? 1 : 0;
            counter.Slow += slow ? 1 : 0;
            if (writeId != 0)
            {
                counter.LongestWriteMs = Math.Max(counter.LongestWriteMs, (int)Math.Min(int.MaxValue, took.TotalMilliseconds));
            }

            if ((failed || slow) && person is not null)
            {
                if (!_affected.TryGetValue(second, out var people))
                {
                    people = _affected[second] = [];
                }

                if (people.Count < AffectedPerSecond)
                {
                    people.Add((service, person));
                }
            }
        }
    }

    private void Prune(long now)
    {
        var oldest = now - (long)Kept.TotalSeconds;
        foreach (var key in _seconds.Keys.Where(k => k.Second < oldest).ToList())
        {
            _seconds.Remove(key);
        }

        foreach (var second in _affected.Keys.Where(s => s < oldest).ToList())
        {
            _affected.Remove(second);
        }
    }

    /// <summary>What this node saw from <paramref name="since"/> (unix seconds) on, and the writes in flight now.</summary>
    public TrafficReport Report(string site, ISiteFence? fence, long since)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            return new TrafficReport(
                site,
                time.GetUtcNow(),
                fence?.IsIsolated ?? false,
                fence?.IsEvacuating ?? false,
                fence?.IsolatedSince,
                [.. _seconds.Where(s => s.Key.Second >= since).OrderBy(s => s.Key.Second)
                    .Select(s => new TrafficSecond(s.Key.Second, s.Key.Service, s.Value.Requests, s.Value.Errors, s.Value.Slow, s.Value.LongestWriteMs))],
                _writes.Values.GroupBy(w => w.Service).ToDictionary(g => g.Key, g => (int)Stopwatch.GetElapsedTime(g.Min(w => w.Started), now).TotalMilliseconds),
                [.. _affected.Where(a => a.Key >= since).SelectMany(a => a.Value.Select(p => new AffectedPerson(a.Key, p.Service, p.User)))],
                _writes.Values.Where(w => Stopwatch.GetElapsedTime(w.Started, now) > SlowAfter).GroupBy(w => w.Service).ToDictionary(g => g.Key, g => g.Count()));
        }
    }

    private sealed class Counter
    {
        public int Requests;
        public int Errors;
        public int Slow;
        public int LongestWriteMs;
    }
}
