using Haetae.Contracts;

namespace Haetae.Platform.Monitoring;

/// <summary>The life cycle of a local site as the platform that runs it sees it.</summary>
public enum SiteState
{
    Running,
    Burning,
    Burned,
    Stopped,

    /// <summary>
    /// Evacuated on a fire alarm: it leads nothing, its node refuses work, its server still holds its replicas
    /// (so the others keep a quorum without it, and its loss pauses nothing).
    /// </summary>
    Evacuated,

    /// <summary>Its power was cut: every process gone, its disk kept as its last fsyncs left it.</summary>
    PoweredOff,
}

public sealed record ProcessInfo(string Role, int? Pid, bool Alive);

/// <summary>A site as the running platform describes it: where it listens, its state and its processes.</summary>
public sealed record SiteDescription(SiteSpec Spec, SiteState State, IReadOnlyList<ProcessInfo> Processes);

/// <summary>What a running platform tells the CLI (no secrets: the control socket only describes).</summary>
public sealed record PlatformDescription(string RootDirectory, int SupervisorPid, IReadOnlyList<SiteDescription> Sites)
{
    public SiteDescription? Site(string name) => Sites.FirstOrDefault(s => s.Spec.Name == name);
}

public sealed record SiteStatus(
    string Name,
    SiteState State,
    IReadOnlyList<ProcessInfo> Processes,
    bool ServerAnswers,
    ServerHealth? ServerHealth,
    bool NodeReady,
    int StreamLeaders,
    int KvLeaders,
    int ObjectStoreLeaders,
    string? ServerVersion = null,
    bool? SyncAlways = null,
    DateTimeOffset? ServerStarted = null)
{
    public bool Up => State is SiteState.Running or SiteState.Evacuated && ServerAnswers && Processes.All(p => p.Alive);
}

/// <summary>Where one replicated asset lives: its leader and all its peers (leader included).</summary>
public sealed record AssetPlacement(string Stream, string? Leader, IReadOnlyList<string> Peers, ulong Messages);

/// <summary>A replica that is not caught up, and how we know.</summary>
public sealed record LaggingReplica(string Stream, string Site, string Reason, ulong? Lag = null);

/// <summary>What one site's endpoints answered (null: did not answer).</summary>
public sealed record SiteReading(SiteDescription Site, JetStreamReport? Jsz, ServerHealth? Health, bool NodeReady, ServerInfo? Info = null);

/// <summary>One reading of the whole platform, taken from every server's monitoring endpoint.</summary>
/// <param name="MetaPeers">The servers the meta leader counts as current members of the meta group, itself included.</param>
public sealed record ClusterStatus(
    string? MetaLeader,
    IReadOnlyList<SiteStatus> Sites,
    IReadOnlyList<AssetPlacement> Assets,
    IReadOnlyList<LaggingReplica> Behind,
    IReadOnlyList<string> MissingAssets,
    IReadOnlyList<string> MetaPeers)
{
    /// <summary>
    /// Full redundancy: every site up and healthy by its own /healthz, every asset present with
    /// <see cref="Assets.Replicas"/> peers on distinct sites, and no replica behind.
    /// </summary>
    public bool FullyReplicated =>
        Sites.All(s => s.Up && s.ServerHealth is { Ok: true })
        && MissingAssets.Count == 0
        && Behind.Count == 0
        && Assets.All(a => a.Leader is not null && a.Peers.Distinct().Count() == Haetae.Contracts.Assets.Replicas);

    /// <summary>
    /// A follower this close to its leader is caught up: under load there are always a few operations in
    /// flight, and requiring zero would never let a rebuild finish while people write. The stream info's
    /// own "current" flag is not used at all; each server's /healthz is the authority on catching up.
    /// </summary>
    public const ulong CaughtUpLag = 100;

    /// <summary>A replica the leader has not heard from for this long is offline (leaders contact followers every second or so).</summary>
    public static readonly TimeSpan SilentReplica = TimeSpan.FromSeconds(3);

    public static async Task<ClusterStatus> ReadAsync(
        PlatformDescription platform, MonitoringClient monitoring, AssetCatalog catalog, bool checkNodes, CancellationToken cancellationToken)
    {
        var readings = await Task.WhenAll(platform.Sites.Select(async site =>
        {
            var jsz = monitoring.TryGetJetStreamAsync(site.Spec, cancellationToken);
            var health = monitoring.TryGetServerHealthAsync(site.Spec, cancellationToken);
            var ready = checkNodes ? monitoring.IsNodeHealthyAsync(site.Spec, "/readyz", cancellationToken) : Task.FromResult(false);
            var info = monitoring.TryGetServerInfoAsync(site.Spec, cancellationToken);
            return new SiteReading(site, await jsz, await health, await ready, await info);
        }));
        return Compute(readings, catalog);
    }

    /// <summary>The decision part of <see cref="ReadAsync"/>: from what each site's endpoints said to one status (an asset of the catalog that no server holds is missing).</summary>
    public static ClusterStatus Compute(IReadOnlyList<SiteReading> readings, AssetCatalog catalog)
    {
        var metaLeader = readings
            .Select(r => r.Jsz?.MetaCluster?.Leader)
            .Where(l => !string.IsNullOrEmpty(l))
            .GroupBy(l => l)
            .OrderByDescending(g => g.Count())
            .Select(g => g.Key)
            .FirstOrDefault();

        // Each server reports the streams it holds; the leader's report is the one that knows its followers' lag.
        var views = readings
            .Where(r => r.Jsz is not null)
            .SelectMany(r => (r.Jsz!.Accounts ?? [])
                .Where(a => a.Name == JetStreamAccounts.App)
                .SelectMany(a => a.Streams ?? [])
                .Select(s => (Server: r.Site.Spec.Name, Stream: s)))
            .GroupBy(v => v.Stream.Name)
            .ToDictionary(g => g.Key, g => g.FirstOrDefault(v => v.Stream.Cluster?.Leader == v.Server).Stream ?? g.First().Stream);

        var answering = readings.Where(r => r.Jsz is not null).Select(r => r.Site.Spec.Name).ToHashSet();
        var placements = new List<AssetPlacement>();
        var behind = new List<LaggingReplica>();
        foreach (var (name, view) in views.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            // A leader that no longer answers is a stale claim: the survivors are still electing.
            var leader = view.Cluster?.Leader is { Length: > 0 } named && answering.Contains(named) ? named : null;
            var replicas = view.Cluster?.Replicas ?? [];
            var peers = (view.Cluster?.Leader is { Length: > 0 } claimed ? new[] { claimed } : []).Concat(replicas.Select(r => r.Name)).ToList();
            placements.Add(new AssetPlacement(name, leader, peers, view.State?.Messages ?? 0));
            if (leader is null)
            {
                behind.Add(new LaggingReplica(name, view.Cluster?.Leader is { Length: > 0 } gone ? gone : "-", "no leader (election under way)"));
                continue;
            }

            foreach (var replica in replicas)
            {
                if (replica.Offline || replica.SinceLastContact > SilentReplica)
                {
                    behind.Add(new LaggingReplica(name, replica.Name, $"offline (not heard from for {replica.SinceLastContact.TotalSeconds:0} s)"));
                }
                else if (replica.Lag > CaughtUpLag)
                {
                    behind.Add(new LaggingReplica(name, replica.Name, $"{replica.Lag} operations behind", replica.Lag));
                }
            }
        }

        // A rebuilt server claims its replicas are current long before they are; its own /healthz does not.
        foreach (var reading in readings.Where(r => r.Health is { Ok: false }))
        {
            behind.Add(new LaggingReplica("*", reading.Site.Spec.Name, reading.Health!.Error ?? "not healthy"));
        }

        var expected = catalog.All.Select(a => a.StreamName).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Where(e => !views.ContainsKey(e)).Order(StringComparer.Ordinal).ToList();

        var sites = readings.Select(r =>
        {
            var led = placements.Where(p => p.Leader == r.Site.Spec.Name).Select(p => p.Stream).ToList();
            return new SiteStatus(
                r.Site.Spec.Name,
                r.Site.State,
                r.Site.Processes,
                r.Jsz is not null,
                r.Health,
                r.NodeReady,
                StreamLeaders: led.Count(s => !s.StartsWith("KV_", StringComparison.Ordinal) && !s.StartsWith("OBJ_", StringComparison.Ordinal)),
                KvLeaders: led.Count(s => s.StartsWith("KV_", StringComparison.Ordinal)),
                ObjectStoreLeaders: led.Count(s => s.StartsWith("OBJ_", StringComparison.Ordinal)),
                ServerVersion: r.Info?.Version,
                SyncAlways: r.Jsz?.Config?.SyncAlways,
                ServerStarted: r.Info?.Start);
        }).ToList();

        // Assets are placed only on servers the meta leader has heard from: until it knows every site,
        // creating an R3 asset fails with "no suitable peers for placement".
        var metaView = readings.FirstOrDefault(r => r.Site.Spec.Name == metaLeader)?.Jsz?.MetaCluster;
        var metaPeers = metaView is null
            ? []
            : (IReadOnlyList<string>)[metaLeader!, .. (metaView.Replicas ?? []).Where(p => p.Current && !p.Offline).Select(p => p.Name)];
        return new ClusterStatus(metaLeader, sites, placements, behind, missing, metaPeers);
    }
}
