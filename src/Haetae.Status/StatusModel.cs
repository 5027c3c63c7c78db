using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;

namespace Haetae.Status;

/// <summary>What one reading found: every component's state, and the causes of incidents present in it.</summary>
/// <param name="At">When the reading started: the earliest a change it shows can have been seen (a site lost is dated so).</param>
internal sealed record Assessment(DateTimeOffset At, IReadOnlyList<ComponentView> Components, IReadOnlyList<Cause> Causes, bool FullRedundancy, bool AllLeaders, IReadOnlyList<string> SitesAnswering)
{
    /// <summary>When the reading was complete: when what it shows was confirmed (full redundancy back is dated so).</summary>
    public DateTimeOffset Done { get; init; } = At;

    public bool AllOperational => Components.All(c => c.State == ComponentState.Operational);
}

/// <summary>Something that opens an incident: a site lost or cut off, or a service failing on its own.</summary>
/// <param name="Key">One per cause, whichever node sees it: "site.NAME", "service.NAME".</param>
/// <param name="Since">When it started, as precisely as the signals tell (a cut-off node says when it found itself cut off).</param>
internal sealed record Cause(string Key, string Kind, string Title, string TitleKo, DateTimeOffset Since);

/// <summary>
/// The decisions of the status page, from one reading of the platform and the nodes' traffic: pure, so
/// that each rule is tested alone. Thresholds are in one place here.
/// </summary>
internal static class StatusModel
{
    /// <summary>The window error rates and write pauses are judged over.</summary>
    public const int WindowSeconds = 5;

    /// <summary>A write waiting this long makes its service partly out; <see cref="SlowWrite"/> degrades it.</summary>
    public static readonly TimeSpan PausedWrite = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan SlowWrite = TimeSpan.FromSeconds(2);

    public const double OutageErrorRate = 0.25;
    public const double DegradedErrorRate = 0.05;

    /// <summary>Fewer requests than this in the window say nothing about an error rate.</summary>
    public const int MinimumRequests = 4;

    public const string SiteService = "site";

    public static string ComponentId(string service, string site) => $"{service}@{site}";

    /// <param name="traffic">What each node reported (null: its node did not answer).</param>
    /// <param name="maintenance">Maintenance under way now.</param>
    public static Assessment Assess(
        DateTimeOffset at, ClusterStatus status, IReadOnlyDictionary<string, TrafficReport?> traffic, IReadOnlyList<ServiceSurface> services, IReadOnlyList<MaintenanceView> maintenance)
    {
        var components = new List<ComponentView>();
        var causes = new List<Cause>();
        var inMaintenance = maintenance.Where(m => m.From <= at && at < m.To).SelectMany(m => m.Components).ToHashSet(StringComparer.Ordinal);
        var leaderless = status.Behind.Where(b => b.Reason.StartsWith("no leader", StringComparison.Ordinal)).Select(b => b.Stream).ToHashSet(StringComparer.Ordinal);
        var thin = status.Behind.Select(b => b.Stream).Concat(status.MissingAssets)
            .Concat(status.Assets.Where(a => a.Peers.Distinct().Count() < Assets.Replicas).Select(a => a.Stream)).ToHashSet(StringComparer.Ordinal);
        var anyUnhealthyServer = status.Behind.Any(b => b.Stream == "*");
        foreach (var site in status.Sites)
        {
            var report = traffic.GetValueOrDefault(site.Name);
            var (siteState, why, whyKo) =
                inMaintenance.Contains(ComponentId(SiteService, site.Name)) ? (ComponentState.UnderMaintenance, "scheduled maintenance", "예정된 점검")
                : !site.ServerAnswers ? (ComponentState.MajorOutage, "the site does not answer", "사이트가 응답하지 않습니다")
                : report?.Evacuating == true ? (ComponentState.UnderMaintenance, "evacuated (fire alarm)", "대피 중 (화재 경보)")
                : report?.Isolated == true ? (ComponentState.MajorOutage, "cut off from the other sites", "다른 사이트와 연결이 끊겼습니다")
                : report is null || !site.NodeReady ? (ComponentState.PartialOutage, "the site's node is not serving", "사이트의 노드가 서비스하지 않습니다")
                : site.ServerHealth is not { Ok: true } ? (ComponentState.DegradedPerformance, "catching up (" + (site.ServerHealth?.Error ?? "not healthy") + ")", "복제본 따라잡는 중")
                : (ComponentState.Operational, (string?)null, (string?)null);
            components.Add(new ComponentView(ComponentId(SiteService, site.Name), SiteService, site.Name, siteState, why, whyKo));
            if (siteState == ComponentState.MajorOutage)
            {
                var cutOff = site.ServerAnswers;
                causes.Add(new Cause(
                    $"site.{site.Name}",
                    cutOff ? "cut-off" : "lost",
                    cutOff ? $"{site.Name} is cut off from the other sites" : $"{site.Name} stopped answering",
                    cutOff ? $"{site.Name} 사이트가 다른 사이트와 연결이 끊겼습니다" : $"{site.Name} 사이트가 응답하지 않습니다",
                    cutOff && report?.IsolatedSince is { } since && since <= at ? since : at));
            }

            foreach (var service in services)
            {
                var id = ComponentId(service.Name, site.Name);
                var window = report?.Seconds.Where(s => s.Service == service.Name && s.Second > at.ToUnixTimeSeconds() - WindowSeconds).ToList() ?? [];
                var requests = window.Sum(s => s.Requests);
                var errors = window.Sum(s => s.Errors);
                var rate = requests >= MinimumRequests ? (double)errors / requests : 0;
                var longestWrite = TimeSpan.FromMilliseconds(Math.Max(window.Select(s => s.LongestWriteMs).DefaultIfEmpty(0).Max(), report?.OldestWriteMs.GetValueOrDefault(service.Name) ?? 0));
                var electing = service.Streams.Where(leaderless.Contains).ToList();
                // One slow request is one client (its body may trickle in): a pause takes two that waited.
                var waited = window.Sum(s => s.Slow) + (report?.StuckWrites?.GetValueOrDefault(service.Name) ?? 0);
                var signal = rate >= OutageErrorRate || (longestWrite >= PausedWrite && waited >= 2);
                var (state, reason, reasonKo) =
                    inMaintenance.Contains(id) ? (ComponentState.UnderMaintenance, "scheduled maintenance", "예정된 점검")
                    : siteState is ComponentState.MajorOutage or ComponentState.UnderMaintenance or ComponentState.PartialOutage ? (siteState, why, whyKo)
                    : electing.Count > 0 ? (ComponentState.PartialOutage, $"writes wait for an election ({string.Join(", ", electing.Take(3))})", "쓰기가 리더 선출을 기다립니다")
                    : signal ? (ComponentState.PartialOutage, Signals(rate, errors, requests, longestWrite), "요청 실패 또는 쓰기 지연")
                    : rate >= DegradedErrorRate || longestWrite >= SlowWrite ? (ComponentState.DegradedPerformance, Signals(rate, errors, requests, longestWrite), "성능 저하")
                    : service.Streams.Any(thin.Contains) || anyUnhealthyServer ? (ComponentState.DegradedPerformance, "fewer than three caught-up replicas", "복제본이 세 개보다 적습니다")
                    : (ComponentState.Operational, (string?)null, (string?)null);
                components.Add(new ComponentView(id, service.Name, site.Name, state, reason, reasonKo));
                if (signal && state == ComponentState.PartialOutage && electing.Count == 0 && siteState is ComponentState.Operational or ComponentState.DegradedPerformance)
                {
                    causes.Add(new Cause($"service.{service.Name}", "failing", $"{service.Title}: requests failing or waiting", $"{service.TitleKo}: 요청 실패 또는 지연", at));
                }
            }
        }

        return new Assessment(
            at,
            components,
            [.. causes.GroupBy(c => c.Key).Select(g => g.MinBy(c => c.Since)!)],
            // Full redundancy as a rebuild waits for it: every asset with three caught-up replicas, every
            // node ready, every site serving. (The meta group's own "current" can lag a heal by 15 s and
            // more while every stream is whole again: it is not asked.)
            status.FullyReplicated && status.Sites.All(s => s.NodeReady)
                && components.Where(c => c.Service == SiteService).All(c => c.State == ComponentState.Operational),
            leaderless.Count == 0 && status.MissingAssets.Count == 0,
            [.. status.Sites.Where(s => s.ServerAnswers).Select(s => s.Name)]);
    }

    private static string Signals(double rate, int errors, int requests, TimeSpan write) =>
        write >= SlowWrite && rate < DegradedErrorRate ? $"writes waited {write.TotalSeconds:0.0} s"
        : $"{errors} of {requests} requests failed in {WindowSeconds} s" + (write >= SlowWrite ? $"; writes waited {write.TotalSeconds:0.0} s" : "");

    /// <summary>The worst of <paramref name="states"/> (maintenance counts only when it is all there is).</summary>
    public static ComponentState Worst(IEnumerable<ComponentState> states)
    {
        var list = states.ToList();
        var broken = list.Where(s => s != ComponentState.UnderMaintenance).DefaultIfEmpty(ComponentState.Operational).Max();
        return broken == ComponentState.Operational && list.Contains(ComponentState.UnderMaintenance) ? ComponentState.UnderMaintenance : broken;
    }
}
