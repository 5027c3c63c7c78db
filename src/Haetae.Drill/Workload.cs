using System.Collections.Concurrent;

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
}

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
