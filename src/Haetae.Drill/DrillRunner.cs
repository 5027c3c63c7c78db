using System.Diagnostics;
using Haetae.Cluster;
using Haetae.Platform.Monitoring;

namespace Haetae.Drill;

/// <summary>One fire and what followed it.</summary>
public sealed record FireRound(string Site, double FireAt, double RebuildStartedAt, double RebuildSeconds);

/// <summary>
/// A power cut of <see cref="Sites"/> (one, or every site in a blackout) at <see cref="CutAt"/>, power back at
/// <see cref="OnAt"/>, the platform ready again at <see cref="ReadyAt"/>, and every asset with three caught-up
/// replicas at <see cref="ConvergedAt"/> (seconds into the drill); what each site's disk threw away in <see cref="Undone"/>.
/// </summary>
public sealed record PowerCutRound(IReadOnlyList<string> Sites, double CutAt, double OnAt, double ReadyAt, double ConvergedAt, IReadOnlyDictionary<string, string> Undone);

/// <summary>A site's nats-server as the drill found it: its version, and whether it syncs every write before acknowledging it.</summary>
public sealed record DrillServer(string Site, string? Version, bool? SyncAlways);

/// <summary>A drill phase that did not finish in its time: the report names it, and the drill counts as failed.</summary>
public sealed class DrillPhaseException(string phase, string reason, Exception? inner = null)
    : Exception($"the drill's phase '{phase}' did not finish: {reason}", inner)
{
    public string Phase { get; } = phase;
}

/// <summary>Everything a drill found: the promise checks, the fires, the write pauses, the timeline.</summary>
public sealed record DrillReport(
    DrillOptions Options,
    IReadOnlyList<PromiseCheck> Checks,
    IReadOnlyList<FireRound> Rounds,
    IReadOnlyList<Cut> Cuts,
    IReadOnlyList<PowerCutRound> PowerCuts,
    IReadOnlyDictionary<string, double> LongestWritePauseSecondsPerShard,
    IReadOnlyDictionary<string, double> LongestHealPauseSecondsPerShard,
    IReadOnlyDictionary<string, IReadOnlyList<(int Ok, int Errors)>> PerSecond,
    IReadOnlyList<(double At, string What)> Marks,
    double Seconds,
    IReadOnlyList<DrillServer> Servers,
    IReadOnlyList<DrillIncident>? Incidents = null)
{
    public bool AllKept => Checks.All(c => c.Kept);
}

/// <summary>
/// The fire drill: three local sites, a synthetic population, a site burned under load, rebuilt, and
/// every promise checked from the clients' own records. `haetae drill` and the drill test run this.
/// </summary>
public static class DrillRunner
{
    /// <summary>Writes pauses longer than this break the promise: the engine's election takes 4.7 to 8.6 s (nats-server 2.15.1).</summary>
    public static readonly TimeSpan ElectionBound = TimeSpan.FromSeconds(12);

    /// <summary>How long the workloads get to finish their calls in flight once the load stops (a write may retry for a minute).</summary>
    private static readonly TimeSpan StopLoadTimeout = TimeSpan.FromSeconds(90);

    /// <summary>How long one workload's checks may take (they read histories back through the API).</summary>
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Awaits <paramref name="task"/>, or fails naming <paramref name="phase"/> once <paramref name="limit"/> has passed.</summary>
    private static async Task WithinAsync(string phase, TimeSpan limit, Task task, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(limit, cancellationToken);
        }
        catch (TimeoutException e)
        {
            throw new DrillPhaseException(phase, $"still running after {limit.TotalSeconds:0} s", e);
        }
    }

    public static async Task<DrillReport> RunAsync(DrillOptions options, string workDirectory, Action<string> log, CancellationToken cancellationToken)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var root = Path.Combine(workDirectory, $"drill-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        string? logs = null;
        var keepLogs = false;
        DrillReport KeepLogsIfBroken(DrillReport report)
        {
            keepLogs = !report.AllKept;
            return report;
        }

        try
        {
            log("starting three sites...");
            var partition = options.Partition is not null;
            var power = options.PowerCut || options.Blackout;
            await using var platform = await LocalPlatform.StartAsync(
                PlatformSpec.Ephemeral(PlatformSpec.DefaultSiteNames, root, proxiedLinks: partition),
                new LocalPlatformOptions { Log = _ => { }, PowerCuts = power, SyncEveryWrite = !options.LazyFsync },
                cancellationToken);
            logs = platform.Spec.LogDirectory;
            if (partition && !platform.Spec.HasSite(options.Partition!))
            {
                throw new PlatformException($"unknown site '{options.Partition}' (sites: {string.Join(", ", platform.Spec.Sites.Select(s => s.Name))})");
            }

            var timeline = new DrillTimeline();
            var context = new DrillContext([.. platform.Spec.Sites.Select(s => s.NodeUri)], timeline, options) { Exchange = platform.Exchange?.Uri, Bank = platform.Bank, Fleet = platform.Fleet, AdminKey = platform.Spec.Secrets.AdminKey };
            var servers = (await platform.ReadStatusAsync(cancellationToken)).Sites.Select(s => new DrillServer(s.Name, s.ServerVersion, s.SyncAlways)).ToList();
            log($"nats-server: {string.Join(", ", servers.Select(s => $"{s.Site} {s.Version ?? "?"}{(s.SyncAlways == true ? " (fsync)" : " (lazy fsync)")}"))}");
            IDrillWorkload[] workloads = [.. DrillWorkloads.All()];
            var rounds = new List<FireRound>();
            var powerCuts = new List<PowerCutRound>();
            var alarms = new List<(string Site, TimeSpan At, TimeSpan Took)>();
            var checks = new List<PromiseCheck>();
            var disasters = new List<Disaster>();
            IReadOnlyList<DrillIncident> incidents = [];
            var phase = "setting up people";
            using var stop = new CancellationTokenSource();
            var running = new List<Task>();
            try
            {
                log($"setting up {options.People} people...");
                foreach (var workload in workloads)
                {
                    await workload.SetUpAsync(context, cancellationToken);
                }

                phase = "load";
                timeline.Mark("load starts");
                running.AddRange(workloads.Select(w => w.RunAsync(context, stop.Token)));
                running.Add(ReportProgressAsync(timeline, log, stop.Token));

                await Task.Delay(options.WarmUp, cancellationToken);
                var random = new Random();
                if (partition)
                {
                    var site = options.Partition!;
                    var cutAt = timeline.Now;
                    phase = $"partition of {site}";
                    timeline.Mark($"cut off: {site}");
                    log($"PARTITION: cutting {site} off from the other sites (nothing killed)");
                    await platform.PartitionAsync(site, cancellationToken);
                    await Task.Delay(options.Burned, cancellationToken);
                    checks.Add(await IncidentRecordCheck.IslandPageAsync(platform.Spec.Site(site).NodeUri, timeline.WallClock(cutAt), cancellationToken));
                    await platform.HealAsync(site, cancellationToken);
                    var healedAt = timeline.Now;
                    timeline.Mark($"healed: {site}");
                    phase = $"convergence after healing {site}";
                    log($"healed {site}; waiting until every asset is fully replicated again...");
                    var healing = Stopwatch.StartNew();
                    await platform.WaitUntilFullyReplicatedAsync(TimeSpan.FromMinutes(2), cancellationToken);
                    context.Cuts.Add(new Cut(site, platform.Spec.Site(site).NodeUri, cutAt, healedAt, timeline.Now));
                    disasters.Add(new Disaster($"partition of {site}", $"site.{site}", cutAt, cutAt, timeline.Now));
                    timeline.Mark($"converged: {site}");
                    log($"converged after {healing.Elapsed.TotalSeconds:0.0} s");
                    phase = "load after the heal";
                    await Task.Delay(options.After, cancellationToken);
                }

                if (power)
                {
                    var status = await platform.ReadStatusAsync(cancellationToken);
                    IReadOnlyList<string> sites = options.Blackout ? [.. platform.Spec.Sites.Select(s => s.Name)]
                        : [options.Site ?? status.Sites.OrderByDescending(s => s.StreamLeaders + s.KvLeaders + s.ObjectStoreLeaders).First().Name];
                    var what = options.Blackout ? "every site" : sites[0];
                    var cutAt = timeline.Now;
                    phase = $"power cut of {what}";
                    timeline.Mark($"power cut: {what}");
                    log($"POWER CUT: {what} (what was not fsynced is lost)");
                    context.SitesLost.Add(cutAt);
                    var undone = await platform.PowerCutAsync(sites, cancellationToken);
                    foreach (var (site, said) in undone)
                    {
                        log($"  {site}: {said}");
                    }

                    await Task.Delay(options.Burned, cancellationToken);
                    var onAt = timeline.Now;
                    phase = $"power back at {what}";
                    timeline.Mark($"power on: {what}");
                    log($"power back at {what}: starting on {(sites.Count == 1 ? "its own disk" : "their own disks")}...");
                    await platform.PowerOnAsync(sites, cancellationToken);
                    var readyAt = timeline.Now;
                    timeline.Mark($"ready: {what}");
                    // The returning servers' replicas (and, after a blackout, every election) unseat or elect leaders.
                    context.SitesLost.Add(readyAt);
                    if (options.Blackout)
                    {
                        context.Outages.Add((cutAt, readyAt));
                    }

                    phase = $"convergence after the power came back at {what}";
                    await platform.WaitUntilFullyReplicatedAsync(TimeSpan.FromMinutes(2), cancellationToken);
                    var convergedAt = timeline.Now;
                    timeline.Mark($"converged: {what}");
                    log($"ready {(readyAt - onAt).TotalSeconds:0.0} s after the power came back; full redundancy after {(convergedAt - onAt).TotalSeconds:0.0} s");
                    powerCuts.Add(new PowerCutRound(sites, cutAt.TotalSeconds, onAt.TotalSeconds, readyAt.TotalSeconds, convergedAt.TotalSeconds, undone));
                    disasters.Add(options.Blackout
                        ? new Disaster("blackout", "platform", cutAt, readyAt, convergedAt)
                        : new Disaster($"power cut of {what}", $"site.{what}", cutAt, cutAt, convergedAt));
                    phase = "load after the power came back";
                    await Task.Delay(options.After, cancellationToken);
                }

                for (var round = 0; round < (partition || power ? 0 : options.Rounds); round++)
                {
                    var status = await platform.ReadStatusAsync(cancellationToken);
                    var site = round == 0 && options.Site is not null ? options.Site
                        : round == 0 ? status.Sites.OrderByDescending(s => s.StreamLeaders + s.KvLeaders + s.ObjectStoreLeaders).First().Name
                        : platform.Spec.Sites[random.Next(platform.Spec.Sites.Count)].Name;
                    TimeSpan? alarmAt = null;
                    if (round == 0 && options.Warning)
                    {
                        alarmAt = timeline.Now;
                        phase = $"evacuation of {site}";
                        timeline.Mark($"fire alarm: {site}");
                        log($"FIRE ALARM at {site}: evacuating before the fire");
                        var evacuated = await platform.EvacuateAsync(site, cancellationToken);
                        timeline.Mark($"evacuated: {site}");
                        log($"{site} evacuated after {evacuated.TotalSeconds:0.0} s: nothing is led there");
                        alarms.Add((site, alarmAt.Value, evacuated));
                    }

                    var fireAt = timeline.Now.TotalSeconds;
                    phase = $"fire at {site}";
                    timeline.Mark($"fire: {site}");
                    context.SitesLost.Add(timeline.Now);
                    log($"FIRE: burning {site} (processes killed, data deleted)");
                    await platform.FireAsync(site, cancellationToken);
                    await Task.Delay(options.Burned, cancellationToken);
                    var rebuildAt = timeline.Now.TotalSeconds;
                    if (alarmAt is { } alarm)
                    {
                        context.Alarms.Add(new Alarm(site, alarm, timeline.Now, TimeSpan.FromSeconds(fireAt), alarms.Single(a => a.Site == site).Took));
                    }

                    phase = $"rebuild of {site}";
                    timeline.Mark($"rebuild: {site}");
                    log($"rebuilding {site}...");
                    var took = await platform.RebuildAsync(site, cancellationToken);
                    timeline.Mark($"full redundancy: {site}");
                    disasters.Add(new Disaster($"fire at {site}", $"site.{site}", TimeSpan.FromSeconds(fireAt), TimeSpan.FromSeconds(fireAt), timeline.Now));
                    log($"{site} rebuilt: three caught-up replicas after {took.TotalSeconds:0.0} s");
                    rounds.Add(new FireRound(site, fireAt, rebuildAt, took.TotalSeconds));
                    phase = "load after the rebuild";
                    await Task.Delay(options.After, cancellationToken);
                }

                phase = "stopping the load";
                timeline.Mark("load stops");
                await stop.CancelAsync();
                await WithinAsync(phase, StopLoadTimeout, Task.WhenAll(running), cancellationToken);
                log("checking every promise against the clients' records...");
                foreach (var workload in workloads)
                {
                    phase = $"checking {workload.Service}";
                    var checking = workload.CheckAsync(context, cancellationToken);
                    await WithinAsync(phase, CheckTimeout, checking, cancellationToken);
                    checks.AddRange(await checking);
                }

                // The platform's own record of what the drill did to it.
                phase = "checking the incident record";
                var recorded = IncidentRecordCheck.CheckAsync(context, disasters, checks, cancellationToken);
                await WithinAsync(phase, CheckTimeout, recorded, cancellationToken);
                (var recordChecks, incidents) = await recorded;
                checks.AddRange(recordChecks);

                if (power)
                {
                    // With the load stopped, every replica must hold the same stream: a server that came back on
                    // a disk missing what it had acknowledged must have caught up, never kept a history of its own.
                    phase = "comparing replicas";
                    var divergent = await platform.FindDivergentReplicasAsync(TimeSpan.FromSeconds(30), cancellationToken);
                    var streams = (await platform.ReadStatusAsync(cancellationToken)).Assets.Count;
                    checks.Add(new PromiseCheck("platform", "every stream's replicas hold the same messages after the power came back", streams, divergent.Count,
                        divergent.Count == 0 ? $"{streams} streams, three replicas each agree (sequences, messages, bytes)" : string.Join("; ", divergent.Take(3))));
                }

                var pauses = workloads.SelectMany(w => w.Pauses.Longest).ToDictionary();
                var healPauses = workloads.SelectMany(w => w.Pauses.WhileHealing).ToDictionary();
                if (rounds.Count > 0)
                {
                    checks.Add(new PromiseCheck("platform", "every burned site was rebuilt to full redundancy", rounds.Count, 0,
                        string.Join("; ", rounds.Select(r => $"{r.Site} in {r.RebuildSeconds:0.0} s"))));
                }

                return KeepLogsIfBroken(new DrillReport(options, checks, rounds, context.Cuts, powerCuts, pauses, healPauses, timeline.PerSecond(), timeline.Marks, clock.Elapsed.TotalSeconds, servers, incidents));
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // A phase that failed or ran out of time is a finding, not an interruption: the report says
                // which phase and why, with every check that had been made, and the drill counts as failed.
                await stop.CancelAsync();
                log($"phase '{phase}' failed: {e.Message}");
                timeline.Mark($"failed: {phase}");
                checks.Add(new PromiseCheck("drill", "every phase of the drill finished", 1, 1, $"phase '{phase}': {e.GetType().Name}: {e.Message}"));
                return KeepLogsIfBroken(new DrillReport(options, checks, rounds, context.Cuts, powerCuts, new Dictionary<string, double>(), new Dictionary<string, double>(),
                    timeline.PerSecond(), timeline.Marks, clock.Elapsed.TotalSeconds, servers));
            }
            finally
            {
                foreach (var workload in workloads)
                {
                    await workload.DisposeAsync();
                }
            }
        }
        finally
        {
            if (keepLogs && logs is not null && Directory.Exists(logs))
            {
                // The platform has stopped: its processes' logs are complete. They go with the report.
                var into = Path.Combine(options.ReportDirectory, "logs");
                Directory.CreateDirectory(into);
                foreach (var file in Directory.EnumerateFiles(logs))
                {
                    File.Copy(file, Path.Combine(into, Path.GetFileName(file)), overwrite: true);
                }
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Left for the next run's clean-up; the report is written elsewhere.
            }
        }
    }

    private static Task ReportProgressAsync(DrillTimeline timeline, Action<string> log, CancellationToken stop) => Task.Run(async () =>
    {
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(5));
        try
        {
            while (await tick.WaitForNextTickAsync(stop))
            {
                var second = (int)timeline.Now.TotalSeconds - 1;
                var line = string.Join("  ", timeline.PerSecond().Select(s =>
                {
                    var recent = s.Value.Skip(Math.Max(0, second - 4)).Take(5).ToList();
                    return $"{s.Key}: {recent.Sum(r => r.Ok) / 5.0:0}/s ok, {recent.Sum(r => r.Errors)} errors";
                }));
                log($"t={timeline.Now.TotalSeconds:0}s  {line}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    });
}
