using System.Collections.Concurrent;
using Haetae.Contracts;

namespace Haetae.Drill;

/// <summary>
/// A site cut off from the others (not killed) from <see cref="From"/> until healed at <see cref="To"/>;
/// every asset had three caught-up replicas again at <see cref="Converged"/>.
/// </summary>
public sealed record Cut(string Site, Uri Node, TimeSpan From, TimeSpan To, TimeSpan Converged);

/// <summary>
/// A fire alarm that gave warning: raised at <see cref="From"/>, the site evacuated in <see cref="Evacuation"/>,
/// burned at <see cref="FireAt"/>, and rebuilt from <see cref="To"/> on.
/// </summary>
public sealed record Alarm(string Site, TimeSpan From, TimeSpan To, TimeSpan FireAt, TimeSpan Evacuation);

/// <summary>What a workload gets from the drill: every site's node URL, the clock, and what happened to the platform.</summary>
public sealed record DrillContext(IReadOnlyList<Uri> Sites, DrillTimeline Timeline, DrillOptions Options)
{
    /// <summary>The sample third-party app, when the platform runs it.</summary>
    public Uri? Exchange { get; init; }

    /// <summary>The sample bank, when the platform runs it: its records are checked against the wallets'.</summary>
    public Haetae.Cluster.BankApp? Bank { get; init; }

    /// <summary>The sample fleet of scooters, when the platform runs it: riders' phones reach its scooters over the short-range channel.</summary>
    public Haetae.Cluster.FleetApp? Fleet { get; init; }

    /// <summary>The operator's admin key (the pay audit).</summary>
    public string? AdminKey { get; init; }

    /// <summary>
    /// When a site was lost (burned, or its power cut) or came back on its own disk: each is an election on the
    /// shards it led, or whose leaders its returning replicas unseat.
    /// </summary>
    public List<TimeSpan> SitesLost { get; } = [];

    /// <summary>When every site was down at once (a blackout), from the power cut until the platform was ready again.</summary>
    public List<(TimeSpan From, TimeSpan To)> Outages { get; } = [];

    /// <summary>Partitions so far (filled in by the drill as they heal), for the no-split-brain check.</summary>
    public List<Cut> Cuts { get; } = [];

    /// <summary>Fire alarms that gave warning before their fire (filled in as each rebuild begins).</summary>
    public List<Alarm> Alarms { get; } = [];

    /// <summary>Every notice the drill's devices were told of over their realtime connections.</summary>
    public ConcurrentQueue<SeenNotice> Notices { get; } = new();
}

/// <summary>A notice as a drill device received it.</summary>
public sealed record SeenNotice(string UserId, string IncidentId, NoticeKind Kind, DateTimeOffset At);

/// <summary>The drill's synthetic people: signed up and signed in through the client, each starting at its own site.</summary>
internal static class DrillPeople
{
    public const string Password = "drill password";

    /// <summary>A new person whose client tries site <paramref name="n"/> (modulo the sites) first.</summary>
    public static async Task<(Haetae.Client.HaetaeClient Client, string UserId, string Login)> SignUpAsync(
        IReadOnlyList<Uri> sites, int n, string kind, string displayName, CancellationToken cancellationToken)
    {
        var client = new Haetae.Client.HaetaeClient([.. sites.Skip(n % sites.Count), .. sites.Take(n % sites.Count)]);
        var login = $"{kind}{n}-{Guid.NewGuid():N}@drill.haetae";
        var user = await client.SignUpAsync(new Haetae.Contracts.SignUpRequest(null, login, displayName, Password), cancellationToken: cancellationToken);
        await client.SignInAsync(login, Password, cancellationToken);
        return (client, user.Id, login);
    }
}

/// <summary>What came of one call to the platform.</summary>
internal enum Outcome
{
    Done,

    /// <summary>Refused with a 4xx.</summary>
    Refused,

    /// <summary>Every site tried until the client's patience ran out.</summary>
    Unavailable,
}

/// <summary>One service's calls during the load: each outcome goes on the timeline, and refusals are counted.</summary>
internal sealed class ServiceCalls(string service)
{
    private long _refusals;

    public long Refusals => Interlocked.Read(ref _refusals);

    public async Task<Outcome> CallAsync(DrillTimeline timeline, Func<Task> call)
    {
        try
        {
            await call();
            timeline.Success(service);
            return Outcome.Done;
        }
        catch (Haetae.Client.HaetaeApiException)
        {
            Interlocked.Increment(ref _refusals);
            timeline.Error(service);
            return Outcome.Refused;
        }
        catch (Haetae.Client.HaetaeUnavailableException)
        {
            timeline.Error(service);
            return Outcome.Unavailable;
        }
    }

    /// <summary>Waits about <paramref name="mean"/> (half to one and a half times); false once the load stops.</summary>
    public static async Task<bool> PauseAsync(Random random, TimeSpan mean, CancellationToken stop)
    {
        try
        {
            await Task.Delay(mean * (0.5 + random.NextDouble()), stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>One promise checked from the clients' own records: kept when <see cref="Violations"/> is 0.</summary>
public sealed record PromiseCheck(string Service, string Promise, long Checked, long Violations, string Detail)
{
    public bool Kept => Violations == 0;
}

/// <summary>
/// A service's part in the drill: it sets up its people, runs their load until told to stop (recording
/// every outcome on the timeline and keeping its own records), then checks all of its promises against
/// what the platform returns afterwards and what the drill did (<see cref="DrillContext"/>). The drill's
/// core runs the workloads and the fires; it never names a service.
/// </summary>
public interface IDrillWorkload : IAsyncDisposable
{
    string Service { get; }

    Task SetUpAsync(DrillContext context, CancellationToken cancellationToken);

    Task RunAsync(DrillContext context, CancellationToken stop);

    Task<IReadOnlyList<PromiseCheck>> CheckAsync(DrillContext context, CancellationToken cancellationToken);

    /// <summary>For the report, after <see cref="CheckAsync"/>: the longest write pause per stream, and during heals.</summary>
    WritePauses Pauses => new(new Dictionary<string, double>(), new Dictionary<string, double>());
}

/// <summary>The longest pause between two acknowledged writes, in seconds, per stream (for example CHAT_03).</summary>
public sealed record WritePauses(IReadOnlyDictionary<string, double> Longest, IReadOnlyDictionary<string, double> WhileHealing);

/// <summary>Successes and errors per second per service, and the moments that matter (fire, rebuild).</summary>
public sealed class DrillTimeline
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>The wall-clock time of the timeline's zero (the platform's records are in wall-clock time).</summary>
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public DateTimeOffset WallClock(TimeSpan at) => StartedAt + at;
    private readonly ConcurrentDictionary<(string Service, int Second), (int Ok, int Errors)> _counts = new();
    private readonly ConcurrentQueue<(double At, string What)> _marks = new();

    public TimeSpan Now => _clock.Elapsed;

    public void Success(string service) => _counts.AddOrUpdate((service, (int)_clock.Elapsed.TotalSeconds), (1, 0), (_, c) => (c.Ok + 1, c.Errors));

    public void Error(string service) => _counts.AddOrUpdate((service, (int)_clock.Elapsed.TotalSeconds), (0, 1), (_, c) => (c.Ok, c.Errors + 1));

    public void Mark(string what) => _marks.Enqueue((_clock.Elapsed.TotalSeconds, what));

    public IReadOnlyList<(double At, string What)> Marks => [.. _marks];

    /// <summary>Per service, per second from 0 to the last second seen: (successes, errors).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(int Ok, int Errors)>> PerSecond()
    {
        var snapshot = _counts.ToArray();
        var last = snapshot.Length == 0 ? 0 : snapshot.Max(c => c.Key.Second);
        return snapshot.GroupBy(c => c.Key.Service).ToDictionary(
            g => g.Key,
            g => (IReadOnlyList<(int, int)>)[.. Enumerable.Range(0, last + 1).Select(s => g.FirstOrDefault(c => c.Key.Second == s).Value)]);
    }
}

/// <summary>
/// Write pauses measured from the clients' own acknowledgements: the longest gap between two of them per
/// stream, and the checks that bound it by an election. Every workload that writes reports its pauses this way.
/// </summary>
internal static class AckPauses
{
    /// <summary>
    /// Per stream, the longest gap between acknowledgements outside heals and blackouts, and the longest
    /// while a healed partition converged. Healing is not losing a site: nats-server has no pre-vote, so the
    /// returning site's replicas, whose terms grew while they campaigned alone, can unseat the leaders the
    /// others elected; those pauses are measured apart. A blackout stops every write until the platform is
    /// back: the pause counted is from then on.
    /// </summary>
    public static (IReadOnlyDictionary<string, TimeSpan> Longest, IReadOnlyDictionary<string, TimeSpan> WhileHealing) Of(
        IEnumerable<(string Stream, TimeSpan AckedAt)> acks, DrillContext context)
    {
        var healing = context.Cuts.Select(c => (c.To, c.Converged)).ToList();
        var byStream = acks.GroupBy(a => a.Stream)
            .ToDictionary(g => g.Key, g => Gaps([.. g.Select(a => a.AckedAt).Concat(healing.Concat(context.Outages).SelectMany(h => new[] { h.Item1, h.Item2 })).Order()]));
        bool InHealing((TimeSpan From, TimeSpan To) gap) => healing.Any(h => gap.From >= h.To && gap.To <= h.Converged);
        bool InOutage((TimeSpan From, TimeSpan To) gap) => context.Outages.Any(o => gap.From >= o.From && gap.To <= o.To);
        return (
            byStream.ToDictionary(s => s.Key, s => s.Value.Where(g => !InHealing(g) && !InOutage(g)).Select(g => g.To - g.From).DefaultIfEmpty().Max()),
            byStream.ToDictionary(s => s.Key, s => s.Value.Where(InHealing).Select(g => g.To - g.From).DefaultIfEmpty().Max()));
    }

    /// <summary>Losing a site pauses writes only on the streams it led, and only for an election; after a heal, one more election at most.</summary>
    public static IEnumerable<PromiseCheck> Checks(string service, WritePauses pauses, DrillContext context)
    {
        var bound = DrillRunner.ElectionBound;
        yield return new PromiseCheck(service, $"writes paused no longer than an election ({bound.TotalSeconds:0} s)", pauses.Longest.Count, pauses.Longest.Count(p => p.Value > bound.TotalSeconds),
            $"longest pause {(pauses.Longest.Count == 0 ? 0 : pauses.Longest.Values.Max()):0.0} s");
        if (context.Cuts.Count > 0)
        {
            // After a heal the returning replicas' higher terms unseat leaders (no pre-vote): one more
            // election per stream, bounded the same way (2.15.1: at most 8.8 s measured; 2.9.10: 17.4 s).
            yield return new PromiseCheck(service, $"writes paused no longer than an election after the heal ({bound.TotalSeconds:0} s)", pauses.WhileHealing.Count,
                pauses.WhileHealing.Count(p => p.Value > bound.TotalSeconds), $"longest pause {(pauses.WhileHealing.Count == 0 ? 0 : pauses.WhileHealing.Values.Max()):0.0} s");
        }
    }

    private static List<(TimeSpan From, TimeSpan To)> Gaps(IReadOnlyList<TimeSpan> times) => [.. times.Zip(times.Skip(1))];
}

/// <summary>
/// A workload's writes that carry request ids: each is called until the platform answers (the client fails
/// over between sites with the same request id), its acknowledgement kept for the pause checks, its
/// refusals kept for the report; a write sent again at another site is compared with the first answer.
/// </summary>
internal sealed class AnsweredWrites(string service)
{
    private readonly ServiceCalls _calls = new(service);
    private readonly ConcurrentQueue<string> _refusals = new();
    private long _retries;
    private long _differing;
    private long _shortOfMoney;

    /// <summary>When each write was acknowledged, on the drill's clock.</summary>
    public ConcurrentBag<TimeSpan> Acks { get; } = [];

    /// <summary>
    /// Calls until answered; records an acknowledged one. Unavailable means the load stopped first (the
    /// caller finishes it later, with the same request id).
    /// </summary>
    public async Task<Outcome> UntilAnsweredAsync(DrillContext context, CancellationToken stop, Func<Task> call, Action recorded)
    {
        var outcome = Outcome.Unavailable;
        while (outcome == Outcome.Unavailable && !stop.IsCancellationRequested)
        {
            outcome = await _calls.CallAsync(context.Timeline, async () =>
            {
                try
                {
                    await call();
                }
                catch (Haetae.Client.HaetaeApiException e)
                {
                    // What was refused, for the report: a valid request refused is a broken promise.
                    _refusals.Enqueue($"{e.Message} (at {context.Timeline.Now.TotalSeconds:0.0} s)");
                    throw;
                }
            });
        }

        if (outcome == Outcome.Done)
        {
            Acks.Add(context.Timeline.Now);
            recorded();
        }

        return outcome;
    }

    /// <summary>Sent again at another site with the same request id: it must name what the first answer named.</summary>
    public void Compare(string? first, string? again)
    {
        Interlocked.Increment(ref _retries);
        if (again != first)
        {
            Interlocked.Increment(ref _differing);
        }
    }

    /// <summary>"Not enough money" (409) is a right answer to a payment the wallet cannot cover: counted, not a refusal.</summary>
    public async Task ShortOfMoneyIsAnAnswer(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Haetae.Client.HaetaeApiException e) when (e.Status == System.Net.HttpStatusCode.Conflict && e.Title == "Not enough money")
        {
            Interlocked.Increment(ref _shortOfMoney);
        }
    }

    public PromiseCheck Retries(string service) =>
        new(service, "a write sent again at another site got the first answer", _retries, _differing, $"{_differing} of {_retries} retries answered differently");

    /// <summary>No valid request refused: <paramref name="what"/> names the requests ("pay", "gifts").</summary>
    public PromiseCheck NoneRefused(string service, string what, string shortOf) =>
        new(service, $"no valid {what} request refused", Acks.Count + _calls.Refusals, _calls.Refusals,
            $"{_calls.Refusals} refused with a 4xx; {Interlocked.Read(ref _shortOfMoney)} {shortOf} refused for want of money" + (_refusals.IsEmpty ? "" : "; e.g. " + string.Join("; ", _refusals.Take(3))));
}

/// <summary>What the workloads' checks share: waiting for the platform to settle, and a few examples of what broke.</summary>
internal static class CheckHelpers
{
    /// <summary>Asks until <paramref name="done"/> holds (five times a second), or the token ends the wait.</summary>
    public static async Task<T> EventuallyAsync<T>(CancellationToken cancellationToken, Func<CancellationToken, Task<T>> probe, Func<T, bool> done)
    {
        while (true)
        {
            var value = await probe(cancellationToken);
            if (done(value))
            {
                return value;
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Keeps the first three examples for the report.</summary>
    public static void Example(List<string> examples, string example)
    {
        if (examples.Count < 3)
        {
            examples.Add(example);
        }
    }
}
