using System.Net.Http.Headers;
using System.Net.Http.Json;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Status;

/// <summary>
/// Every node's recorder of outages. With each reading of the platform (<see cref="PlatformWatch"/>, once a
/// second) it reads every node's traffic, assesses every component (<see cref="StatusModel"/>), and opens,
/// updates and resolves incidents in the replicated record. Every node does the same; the record's
/// compare-and-set makes one incident per cause (<see cref="Incidents"/>). A node that cannot reach the
/// store (its site cut off) records nothing and its page shows the last state it knew.
/// </summary>
internal sealed partial class StatusWatch(
    PlatformWatch platform,
    NodeOptions node,
    ServiceSurfaces surfaces,
    Incidents incidents,
    StatusCache cache,
    Buckets buckets,
    IEnumerable<IAcknowledgedWritesCheck> checks,
    TimeProvider time,
    ILogger<StatusWatch> logger) : BackgroundService
{
    /// <summary>A cause must be seen in this many readings in a row (one second apart) to open an incident.</summary>
    public const int SeenToOpen = 2;

    /// <summary>A service's own cause waits longer: a site's loss fails its requests too, and its incident must land first.</summary>
    public const int SeenToOpenService = 4;

    /// <summary>A service's own incident is resolved after its components were operational this many readings in a row.</summary>
    public const int QuietToResolve = 5;

    /// <summary>After a site or platform incident ends, its aftermath opens no service incident for this long.</summary>
    public static readonly TimeSpan Aftermath = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(1) };
    private readonly Dictionary<string, Cause> _present = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _seenCount = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seenUp = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _trafficSince = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<long, IncidentSample>> _series = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _quietSince = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _quietCount = new(StringComparer.Ordinal);
    private bool _blackoutChecked;
    private Task _beating = Task.CompletedTask;
    private DateTimeOffset _seriesWritten;

    /// <summary>At most this many people are kept per incident (as hashes); past it the count says "at least".</summary>
    public const int MaxAffectedKept = 20_000;

    private Assessment? _latest;
    private Assessment? _latestGood;

    /// <summary>The latest assessment.</summary>
    public Assessment? Latest => Volatile.Read(ref _latest);

    /// <summary>The latest assessment made while this node reached a majority of the sites (what its page shows when cut off).</summary>
    public Assessment? LatestGood => Volatile.Read(ref _latestGood);

    public IReadOnlyList<string> ComponentIds =>
        [.. node.Sites.SelectMany(s => surfaces.All.Select(v => StatusModel.ComponentId(v.Name, s.Name)).Prepend(StatusModel.ComponentId(StatusModel.SiteService, s.Name)))];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (node.Sites.Count == 0)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var reading = await platform.NextAsync(stoppingToken);
            try
            {
                var traffic = await ReadTrafficAsync(stoppingToken);
                var assessment = StatusModel.Assess(reading.At, reading.Status, traffic, surfaces.All, cache.Maintenance) with { Done = reading.Done };
                Volatile.Write(ref _latest, assessment);
                // A node cut off from the others sees them all "down": it neither shows nor records that.
                var good = assessment.SitesAnswering.Count * 2 > node.Sites.Count && traffic.GetValueOrDefault(node.Site) is not { Isolated: true };
                if (!good)
                {
                    _present.Clear();
                    _seenCount.Clear();
                    continue;
                }

                Volatile.Write(ref _latestGood, assessment);
                await RecordAsync(reading.Status, assessment, traffic, stoppingToken);
                // Only once this node has looked for a blackout: its own fresh heartbeat would hide one.
                Beat(reading.At, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The store is electing or out of reach: the next reading tries again.
                LogRecordFailed(e.Message);
            }
        }
    }

    /// <summary>Every node's traffic since the last report read from it (null for a node that did not answer).</summary>
    private async Task<IReadOnlyDictionary<string, TrafficReport?>> ReadTrafficAsync(CancellationToken cancellationToken)
    {
        var reports = await Task.WhenAll(node.Sites.Select(async site =>
        {
            try
            {
                var since = _trafficSince.GetValueOrDefault(site.Name, time.GetUtcNow().ToUnixTimeSeconds() - StatusModel.WindowSeconds);
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(site.NodeUri, $"api/status/traffic?since={since}"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", node.AdminKey);
                using var response = await _http.SendAsync(request, cancellationToken);
                return (site.Name, Report: response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<TrafficReport>(HaetaeJson.Options, cancellationToken) : null);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
            {
                return (site.Name, Report: (TrafficReport?)null);
            }
        }));
        foreach (var (site, report) in reports)
        {
            if (report is not null)
            {
                // The window is asked for again each time: a second still counting is read again, whole.
                _trafficSince[site] = Math.Max(report.At.ToUnixTimeSeconds() - StatusModel.WindowSeconds, 0);
            }
        }

        return reports.ToDictionary(r => r.Item1, r => r.Report);
    }

    /// <summary>This node's heartbeat, written in the background (a write that waits for an election must not hold up the reading).</summary>
    private void Beat(DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (!_beating.IsCompleted)
        {
            return;
        }

        _beating = Task.Run(async () =>
        {
            try
            {
                var store = await buckets.GetAsync(StatusKeys.Bucket);
                await store.PutAsync(StatusKeys.Beat(node.Site), new Beat(at, Stopping: false), cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                LogRecordFailed(e.Message);
            }
        }, cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // Stopped on purpose: starting the platform again later is not a blackout.
            var store = await buckets.GetAsync(StatusKeys.Bucket);
            using var soon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            soon.CancelAfter(TimeSpan.FromSeconds(2));
            await store.PutAsync(StatusKeys.Beat(node.Site), new Beat(time.GetUtcNow(), Stopping: true), soon.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogRecordFailed(e.Message);
        }
    }

    private async Task RecordAsync(ClusterStatus status, Assessment a, IReadOnlyDictionary<string, TrafficReport?> traffic, CancellationToken cancellationToken)
    {
        if (!_blackoutChecked)
        {
            _blackoutChecked = await CheckForBlackoutAsync(status, a, cancellationToken);
        }

        // A site counts as lost only once this node has seen it up (at start-up the others may still be starting).
        foreach (var site in a.Components.Where(c => c.Service == StatusModel.SiteService && c.State != ComponentState.MajorOutage))
        {
            _seenUp.Add(site.Site);
        }

        var causes = a.Causes.Where(c => !c.Key.StartsWith("site.", StringComparison.Ordinal) || _seenUp.Contains(c.Key["site.".Length..])).ToList();
        foreach (var gone in _present.Keys.Except(causes.Select(c => c.Key)).ToList())
        {
            _present.Remove(gone);
            _seenCount.Remove(gone);
        }

        foreach (var cause in causes)
        {
            _present.TryAdd(cause.Key, cause);
            _seenCount[cause.Key] = _seenCount.GetValueOrDefault(cause.Key) + 1;
        }

        AddSamples(a.At, traffic);
        var open = cache.Open;
        var infraOpen = open.Where(i => !i.Cause.StartsWith("service.", StringComparison.Ordinal) && !i.Cause.StartsWith("manual.", StringComparison.Ordinal)).ToList();
        var siteSeen = _present.Keys.Any(k => !k.StartsWith("service.", StringComparison.Ordinal));
        foreach (var (key, cause) in _present.Where(p => _seenCount[p.Key] >= (p.Key.StartsWith("service.", StringComparison.Ordinal) ? SeenToOpenService : SeenToOpen)).ToList())
        {
            if (open.Any(i => i.Cause == key))
            {
                continue;
            }

            var isService = key.StartsWith("service.", StringComparison.Ordinal);
            // A service failing while this node sees a site down, or while the record (asked, not this node's
            // copy, which can trail after a heal) has a site or platform incident open or just over, is that incident.
            if (isService && (siteSeen || await InfraIncidentRecentAsync(a.At, cancellationToken)))
            {
                continue;
            }

            var recentInfra = cache.Incidents.Any(i => !i.Cause.StartsWith("service.", StringComparison.Ordinal) && !i.Cause.StartsWith("manual.", StringComparison.Ordinal)
                && (i.End is null || a.At - i.End.Value < Aftermath));
            // One incident per cause: a site lost while every site was down is part of that; a service failing
            // while a site is lost is the site's incident (its components are added there).
            if ((isService && recentInfra) || (!isService && open.Any(i => i.Cause == "platform")))
            {
                continue;
            }

            var first = new IncidentUpdate(cause.Kind, cause.Since, IncidentStage.Investigating,
                cause.Kind switch
                {
                    "lost" => $"{cause.Title}: its servers and node are unreachable (fire, power or network). The other sites carry on; writes led there pause until new leaders are elected.",
                    "cut-off" => $"{cause.Title}: it serves nothing until the links return; the other sites carry on.",
                    _ => $"{cause.Title}. We are looking into it.",
                },
                cause.Kind switch
                {
                    "lost" => $"{cause.TitleKo}. 서버와 노드에 연결할 수 없습니다(화재, 전원 또는 네트워크). 다른 사이트가 서비스를 이어갑니다.",
                    "cut-off" => $"{cause.TitleKo}. 연결이 돌아올 때까지 이 사이트는 서비스하지 않으며, 다른 사이트가 이어갑니다.",
                    _ => $"{cause.TitleKo}. 원인을 확인하고 있습니다.",
                },
                "platform");
            if (await incidents.OpenAsync(cause, isService ? IncidentImpact.Minor : IncidentImpact.Major, first, cancellationToken) is { } opened)
            {
                LogOpened(opened.Id, opened.Title);
                cache.Apply(new IncidentEntry(opened, []));
            }
        }

        foreach (var incident in cache.Open.Where(i => !i.Cause.StartsWith("manual.", StringComparison.Ordinal)))
        {
            try
            {
                await FollowAsync(incident, a, traffic, cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // One incident that cannot be written (an election) holds up no other.
                LogRecordFailed($"{incident.Id}: {e.Message}");
            }
        }

        if (a.At - _seriesWritten >= TimeSpan.FromSeconds(5))
        {
            await WriteSeriesAsync(cancellationToken);
            _seriesWritten = a.At;
        }
    }

    /// <summary>Whether the record has a site or platform incident open, or ended less than <see cref="Aftermath"/> before <paramref name="at"/>.</summary>
    private async Task<bool> InfraIncidentRecentAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(StatusKeys.Bucket);
        // The site and platform causes are known by name: read each, no key listing (a listing is a consumer of its own).
        foreach (var cause in node.Sites.Select(s => $"site.{s.Name}").Append("platform"))
        {
            if ((await store.GetFromLeaderAsync(StatusKeys.Cause(cause), cancellationToken))?.Value is { } state
                && (state.OpenId is not null || (state.ResolvedAt is { } resolved && at - resolved < Aftermath)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// On start-up: was every site down at once (a blackout)? It was if every server that answers started
    /// after a heartbeat that a node wrote while running (not on a clean stop): then no server ran across
    /// that moment, and the newest such heartbeat dates when the power went. A single site's power cut
    /// does not count (the others' servers kept running); nor does a platform stopped on purpose and
    /// started again (its nodes' last heartbeats say "stopping"). False until a majority of servers answered.
    /// </summary>
    private async Task<bool> CheckForBlackoutAsync(ClusterStatus status, Assessment a, CancellationToken cancellationToken)
    {
        var starts = status.Sites.Where(s => s.ServerAnswers && s.ServerStarted is not null).Select(s => s.ServerStarted!.Value).ToList();
        if (starts.Count * 2 <= node.Sites.Count)
        {
            return false;
        }

        var store = await buckets.GetAsync(StatusKeys.Bucket);
        var beats = new List<Beat>();
        foreach (var site in node.Sites)
        {
            if ((await store.GetFromLeaderAsync(StatusKeys.Beat(site.Name), cancellationToken))?.Value is { } beat)
            {
                beats.Add(beat);
            }
        }

        var before = beats.Where(b => b.At < starts.Min()).ToList();
        if (before.Count == 0 || before.All(b => b.Stopping))
        {
            return true;
        }

        var since = before.Where(b => !b.Stopping).Max(b => b.At);
        var cause = new Cause("platform", "blackout", "Every site was down", "모든 사이트가 중단되었습니다", since);
        var first = new IncidentUpdate("blackout", a.At, IncidentStage.Identified,
            $"Every site stopped at once (the last heartbeat was at {since.UtcDateTime:HH:mm:ss} UTC). The sites are starting again from their own disks.",
            $"모든 사이트가 동시에 중단되었습니다(마지막 신호 {since.UtcDateTime:HH:mm:ss} UTC). 각 사이트가 자신의 디스크로 다시 시작하고 있습니다.", "platform");
        if (await incidents.OpenAsync(cause, IncidentImpact.Critical, first, cancellationToken) is { } opened)
        {
            LogOpened(opened.Id, opened.Title);
            cache.Apply(new IncidentEntry(opened, []));
        }

        return true;
    }

    /// <summary>Brings an open incident up to date with <paramref name="a"/>: what it touches, who it affected, its stages, its end.</summary>
    private async Task FollowAsync(IncidentView incident, Assessment a, IReadOnlyDictionary<string, TrafficReport?> traffic, CancellationToken cancellationToken)
    {
        var since = incident.Start.ToUnixTimeSeconds();
        var affected = traffic.Values.Where(r => r is not null).SelectMany(r => r!.Affected).Where(p => p.Second >= since).Select(p => Incidents.Anonymous(p.User)).ToHashSet();
        var broken = a.Components.Where(c => c.State is not ComponentState.Operational and not ComponentState.UnderMaintenance).ToList();
        var isService = incident.Cause.StartsWith("service.", StringComparison.Ordinal);
        if (isService)
        {
            var service = incident.Cause["service.".Length..];
            broken = [.. broken.Where(c => c.Service == service)];
        }

        var changed = await incidents.ChangeAsync(incident.Id, entry =>
        {
            var view = entry.Incident;
            var components = new Dictionary<string, ComponentState>(view.Components);
            foreach (var c in broken)
            {
                components[c.Id] = components.TryGetValue(c.Id, out var was) ? StatusModel.Worst([was, c.State]) : c.State;
            }

            var people = entry.Affected.Count >= MaxAffectedKept ? [.. entry.Affected] : entry.Affected.Union(affected).Take(MaxAffectedKept).ToList();
            if (components.Count == view.Components.Count && components.All(c => view.Components.GetValueOrDefault(c.Key) == c.Value) && people.Count == entry.Affected.Count)
            {
                return null;
            }

            return new IncidentEntry(
                view with
                {
                    Components = components,
                    Services = [.. components.Keys.Select(k => k.Split('@')[0]).Where(s => s != StatusModel.SiteService).Distinct().Order(StringComparer.Ordinal)],
                    Sites = [.. components.Keys.Select(k => k.Split('@')[^1]).Distinct().Order(StringComparer.Ordinal)],
                    PeopleAffected = people.Count,
                },
                people);
        }, cancellationToken);
        if (changed is null)
        {
            return;
        }

        cache.Apply(changed);
        var present = _present.ContainsKey(incident.Cause);
        if (isService)
        {
            if (broken.Count == 0 && !present)
            {
                var quiet = _quietSince.TryGetValue(incident.Id, out var q) ? q : _quietSince[incident.Id] = a.At;
                _quietCount[incident.Id] = _quietCount.GetValueOrDefault(incident.Id) + 1;
                if (_quietCount[incident.Id] >= QuietToResolve)
                {
                    await ResolveAsync(incident, quiet, "Requests succeed again without waiting.", "요청이 다시 지연 없이 처리됩니다.", null, cancellationToken);
                }
            }
            else
            {
                _quietSince.Remove(incident.Id);
                _quietCount.Remove(incident.Id);
            }

            return;
        }

        if (a.AllLeaders && incident.Updates.All(u => u.Id != "elected"))
        {
            await AddAsync(incident.Id, new IncidentUpdate("elected", a.At, IncidentStage.Identified,
                "Every stream and bucket has a leader at a surviving site: writes go on.", "모든 스트림과 버킷이 남은 사이트에서 리더를 가졌습니다. 쓰기가 계속됩니다.", "platform"), cancellationToken);
        }

        var site = incident.Cause.StartsWith("site.", StringComparison.Ordinal) ? incident.Cause["site.".Length..] : null;
        var back = site is null ? a.SitesAnswering.Count == node.Sites.Count : a.SitesAnswering.Contains(site) && !present;
        if (back && incident.Updates.All(u => u.Id != "back"))
        {
            await AddAsync(incident.Id, new IncidentUpdate("back", a.At, IncidentStage.Monitoring,
                site is null ? "Every site answers again; replicas are catching up." : $"{site} answers again; its replicas are being rebuilt from the other sites.",
                site is null ? "모든 사이트가 다시 응답합니다. 복제본을 따라잡는 중입니다." : $"{site} 사이트가 다시 응답합니다. 다른 사이트로부터 복제본을 다시 만드는 중입니다.", "platform"), cancellationToken);
        }

        if (a.FullRedundancy && !present)
        {
            await ResolveAsync(incident, a.Done, "Full redundancy is back: three caught-up replicas of everything, one at each site.",
                "완전한 이중화가 복구되었습니다. 모든 데이터가 사이트마다 하나씩, 세 개의 최신 복제본을 가집니다.", a.Done, cancellationToken);
        }
    }

    private async Task AddAsync(string id, IncidentUpdate update, CancellationToken cancellationToken, DateTimeOffset? fullRedundancyAt = null)
    {
        if (await incidents.AddUpdateAsync(id, update, cancellationToken, fullRedundancyAt) is { } entry)
        {
            cache.Apply(entry);
        }
    }

    private async Task ResolveAsync(IncidentView incident, DateTimeOffset end, string text, string textKo, DateTimeOffset? fullRedundancyAt, CancellationToken cancellationToken)
    {
        await AddAsync(incident.Id, new IncidentUpdate("resolved", end, IncidentStage.Resolved, text, textKo, "platform"), cancellationToken, fullRedundancyAt);
        await incidents.CloseCauseAsync(incident.Cause, incident.Id, end, cancellationToken);
        await WriteSeriesAsync(cancellationToken);
        LogResolved(incident.Id, (end - incident.Start).TotalSeconds);
        _ = Task.Run(() => CheckWritesAsync(incident.Id, CancellationToken.None), CancellationToken.None);
    }

    /// <summary>Runs the checks of acknowledged writes once the incident is over, and keeps what they found (once per check).</summary>
    private async Task CheckWritesAsync(string id, CancellationToken cancellationToken)
    {
        foreach (var check in checks)
        {
            try
            {
                var found = await check.CheckAsync(cancellationToken);
                var entry = await incidents.ChangeAsync(id, e => e.Incident.WritesLost.Any(w => w.Source == found.Source) ? null
                    : e with { Incident = e.Incident with { WritesLost = [.. e.Incident.WritesLost, found] } }, cancellationToken);
                if (entry is not null)
                {
                    cache.Apply(entry);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogRecordFailed($"{check.Name}: {e.Message}");
            }
        }
    }

    /// <summary>Adds this reading's seconds of traffic, summed over the nodes, to the series of every open incident.</summary>
    private void AddSamples(DateTimeOffset at, IReadOnlyDictionary<string, TrafficReport?> traffic)
    {
        var seconds = traffic.Values.Where(r => r is not null).SelectMany(r => r!.Seconds.Select(s => (r.Site, s)))
            .GroupBy(x => x.s.Second)
            .Select(g => new IncidentSample(g.Key, g.Sum(x => x.s.Requests), g.Sum(x => x.s.Errors), g.Select(x => x.s.LongestWriteMs).DefaultIfEmpty(0).Max()))
            .ToList();
        foreach (var incident in cache.Open)
        {
            if (!_series.TryGetValue(incident.Id, out var series))
            {
                series = _series[incident.Id] = [];
            }

            foreach (var sample in seconds.Where(s => s.Second >= incident.Start.ToUnixTimeSeconds() - 10))
            {
                series[sample.Second] = sample;
            }

            if (series.Count > 7_200)
            {
                series.Remove(series.Keys.First());
            }
        }
    }

    private async Task WriteSeriesAsync(CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(StatusKeys.Bucket);
        foreach (var (id, series) in _series.ToList())
        {
            await store.PutAsync(StatusKeys.Series(id, node.Site), new Series([.. series.Values]), cancellationToken);
            if (cache.Find(id) is { End: not null })
            {
                _series.Remove(id);
            }
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Incident {Id} opened: {Title}")]
    private partial void LogOpened(string id, string title);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Incident {Id} resolved after {Seconds:0.0} s")]
    private partial void LogResolved(string id, double seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Recording status failed: {Reason}")]
    private partial void LogRecordFailed(string reason);
}
