using System.Net.Http.Headers;
using System.Net.Http.Json;
using Haetae.Contracts;

namespace Haetae.Drill;

/// <summary>A disaster the drill caused, as its own timeline has it: what the platform's incident record must show.</summary>
/// <param name="Cause">The incident cause it must open ("site.NAME", or "platform" for a blackout).</param>
/// <param name="OpenedBy">From when the 10 s to open it count (the cause itself; after a blackout, when the platform was up again to notice).</param>
/// <param name="End">When the drill saw full redundancy back.</param>
public sealed record Disaster(string What, string Cause, TimeSpan Start, TimeSpan OpenedBy, TimeSpan End);

/// <summary>An incident the drill's disasters opened, for the report to link.</summary>
public sealed record DrillIncident(string Id, string Cause, string Title, double StartAt, double? EndAt, int PeopleAffected, string Link);

/// <summary>
/// Checks the platform's own record of the drill's disasters: each opened exactly one incident within
/// 10 s, resolved once full redundancy was back, with a start and an end within 2 s of the drill's own
/// timeline, and its banner reached every drill device. Also hands the incident what the drill's client
/// records found of acknowledged writes lost.
/// </summary>
internal static class IncidentRecordCheck
{
    public static readonly TimeSpan OpenWithin = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Precision = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan BannerWithin = TimeSpan.FromSeconds(60);

    /// <summary>How long the record may take to resolve an incident after the drill saw full redundancy.</summary>
    private static readonly TimeSpan ResolveWait = TimeSpan.FromSeconds(30);

    public static async Task<(IReadOnlyList<PromiseCheck> Checks, IReadOnlyList<DrillIncident> Incidents)> CheckAsync(
        DrillContext context, IReadOnlyList<Disaster> disasters, IReadOnlyList<PromiseCheck> workloadChecks, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var timeline = context.Timeline;
        var from = timeline.StartedAt;
        IReadOnlyList<IncidentView> incidents = [];
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            wait.CancelAfter(ResolveWait);
            while (true)
            {
                incidents = [.. (await ReadAsync(http, context, cancellationToken)).Where(i => i.Start >= from - TimeSpan.FromSeconds(5) && !i.Cause.StartsWith("manual.", StringComparison.Ordinal))];
                var ours = incidents.Where(i => !i.Cause.StartsWith("service.", StringComparison.Ordinal)).ToList();
                if (disasters.All(d => ours.Any(i => i.Cause == d.Cause && i.End is not null && Near(timeline, i.Start, d.Start, TimeSpan.FromSeconds(30)))) || wait.IsCancellationRequested)
                {
                    break;
                }

                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Out of time: check what is there.
                }
            }
        }

        var infra = incidents.Where(i => !i.Cause.StartsWith("service.", StringComparison.Ordinal)).OrderBy(i => i.Start).ToList();
        var matched = new List<(Disaster Disaster, IncidentView? Incident, int Count)>();
        foreach (var d in disasters)
        {
            var candidates = infra.Where(i => i.Cause == d.Cause && i.Start >= timeline.WallClock(d.Start) - TimeSpan.FromSeconds(30) && i.Start <= timeline.WallClock(d.End)).ToList();
            matched.Add((d, candidates.FirstOrDefault(), candidates.Count));
        }

        var checks = new List<PromiseCheck>();
        var notOne = matched.Where(m => m.Count != 1).ToList();
        var extra = infra.Where(i => matched.All(m => m.Incident?.Id != i.Id)).ToList();
        checks.Add(new PromiseCheck("status", "every fire, blackout and partition opened exactly one incident (never one per node)", disasters.Count, notOne.Count + extra.Count,
            notOne.Count + extra.Count == 0
                ? string.Join("; ", matched.Select(m => $"{m.Disaster.What}: {m.Incident!.Id}"))
                : string.Join("; ", notOne.Select(m => $"{m.Disaster.What}: {m.Count} incidents").Concat(extra.Select(i => $"unexpected {i.Id} ({i.Cause})")))));

        var late = matched.Where(m => m.Incident is { } i && i.OpenedAt - timeline.WallClock(m.Disaster.OpenedBy) > OpenWithin).ToList();
        checks.Add(new PromiseCheck("status", $"each incident was opened within {OpenWithin.TotalSeconds:0} s of its cause", matched.Count(m => m.Incident is not null), late.Count,
            string.Join("; ", matched.Where(m => m.Incident is not null).Select(m => $"{m.Disaster.What}: opened {(m.Incident!.OpenedAt - timeline.WallClock(m.Disaster.OpenedBy)).TotalSeconds:0.0} s after"))));

        var imprecise = matched.Where(m => m.Incident is { } i && (!Near(timeline, i.Start, m.Disaster.Start, Precision) || i.End is not { } end || !Near(timeline, end, m.Disaster.End, Precision))).ToList();
        checks.Add(new PromiseCheck("status", $"each incident starts and ends within {Precision.TotalSeconds:0} s of the drill's timeline (resolved at full redundancy)", matched.Count(m => m.Incident is not null), imprecise.Count,
            string.Join("; ", matched.Where(m => m.Incident is not null).Select(m =>
                $"{m.Disaster.What}: start {Offset(timeline, m.Incident!.Start, m.Disaster.Start)}, end {(m.Incident.End is { } e ? Offset(timeline, e, m.Disaster.End) : "never (still open)")}"))));

        var reached = matched.Where(m => m.Incident is not null).Select(m =>
        {
            // A device that came back after the incident ended is told it is over: that is its banner.
            var told = context.Notices.Where(n => n.IncidentId == m.Incident!.Id && n.Kind != NoticeKind.Damages && n.At - m.Incident.OpenedAt <= BannerWithin).Select(n => n.UserId).Distinct().Count();
            return (m.Disaster, m.Incident!, Told: told);
        }).ToList();
        var people = context.Options.People;
        checks.Add(new PromiseCheck("status", $"the banner of each incident reached every drill device within {BannerWithin.TotalSeconds:0} s", reached.Count * people, reached.Sum(r => people - Math.Min(people, r.Told)),
            string.Join("; ", reached.Select(r => $"{r.Disaster.What}: {r.Told} of {people} people told"))));

        // The drill's own records of acknowledged writes, handed to the incident (the record keeps what each check found).
        var acknowledged = workloadChecks.Where(c => c.Promise.Contains("acknowledged", StringComparison.OrdinalIgnoreCase) && !c.Promise.Contains("cut-off", StringComparison.Ordinal)).ToList();
        foreach (var m in matched.Where(m => m.Incident is not null))
        {
            await TellWritesLostAsync(http, context, m.Incident!.Id, new WritesLostRequest("drill", acknowledged.Sum(c => c.Checked), acknowledged.Sum(c => c.Violations)), cancellationToken);
        }

        return (checks, [.. incidents.Select(i => new DrillIncident(i.Id, i.Cause, i.Title, (i.Start - from).TotalSeconds, i.End is { } e ? (e - from).TotalSeconds : null, i.PeopleAffected,
            new Uri(context.Sites[0], $"status/incidents/{i.Id}").AbsoluteUri))]);
    }

    /// <summary>
    /// At the end of a cut, the cut-off site's status page: it must still answer, with the last state its
    /// node knew from before the cut, and say how old that is.
    /// </summary>
    public static async Task<PromiseCheck> IslandPageAsync(Uri node, DateTimeOffset cutAt, CancellationToken cancellationToken)
    {
        const string Promise = "the cut-off site's status page kept answering with the last state it knew, and said how old it was";
        using var http = new HttpClient { BaseAddress = node, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            var status = await http.GetFromJsonAsync<StatusView>("api/status", HaetaeJson.Options, cancellationToken);
            var page = await http.GetStringAsync("status?lang=en", cancellationToken);
            var kept = status is { Stale: true } && status.At <= cutAt + Precision && page.Contains("class=\"stale\"", StringComparison.Ordinal);
            return new PromiseCheck("status", Promise, 1, kept ? 0 : 1,
                $"{status?.Site}: stale {status?.Stale}, as of {(status is null ? "?" : $"{(status.At - cutAt).TotalSeconds:+0.0;-0.0} s from the cut")}, the page {(page.Contains("class=\"stale\"", StringComparison.Ordinal) ? "says how old" : "does not say how old")}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            return new PromiseCheck("status", Promise, 1, 1, $"the page did not answer: {e.Message}");
        }
    }

    private static bool Near(DrillTimeline timeline, DateTimeOffset at, TimeSpan drillAt, TimeSpan within) => (at - timeline.WallClock(drillAt)).Duration() <= within;

    private static string Offset(DrillTimeline timeline, DateTimeOffset at, TimeSpan drillAt) => $"{(at - timeline.WallClock(drillAt)).TotalSeconds:+0.0;-0.0} s";

    private static async Task<IReadOnlyList<IncidentView>> ReadAsync(HttpClient http, DrillContext context, CancellationToken cancellationToken)
    {
        foreach (var site in context.Sites)
        {
            try
            {
                return await http.GetFromJsonAsync<List<IncidentView>>(new Uri(site, "api/status/incidents?limit=1000"), HaetaeJson.Options, cancellationToken) ?? [];
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // That site does not answer: the next.
            }
        }

        return [];
    }

    private static async Task TellWritesLostAsync(HttpClient http, DrillContext context, string id, WritesLostRequest request, CancellationToken cancellationToken)
    {
        foreach (var site in context.Sites)
        {
            try
            {
                using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(site, $"api/status/incidents/{id}/writes-lost")) { Content = JsonContent.Create(request, options: HaetaeJson.Options) };
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.AdminKey);
                using var response = await http.SendAsync(message, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // That site does not answer: the next.
            }
        }
    }
}
