using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;

namespace Haetae.Operations;

/// <summary>One thing the console shows on its timeline: a site lost or back, full redundancy lost or back.</summary>
internal sealed record ConsoleEvent(DateTimeOffset At, string Site, string Kind, string Text);

/// <summary>What the console page draws, as this node sees the platform now.</summary>
internal sealed record ConsoleView(
    string Site,
    DateTimeOffset At,
    string? MetaLeader,
    bool FullyReplicated,
    IReadOnlyList<ConsoleSite> Sites,
    IReadOnlyList<ConsoleAsset> Assets,
    IReadOnlyList<LaggingReplica> Behind,
    long ChatMessages,
    long Requests,
    long Errors,
    IReadOnlyList<ConsoleEvent> Events,
    bool Controls);

/// <param name="Server">The site's nats-server version and whether it writes to disk before acknowledging ("2.15.1, fsync").</param>
internal sealed record ConsoleSite(string Name, bool Up, bool NodeReady, int Leads, string? Health, string? Server);

internal sealed record ConsoleAsset(string Name, string? Leader, int Replicas, ulong Messages);

internal static class ConsoleViews
{
    /// <summary>The console page's view of the latest reading (none yet: every site unknown, nothing replicated).</summary>
    public static ConsoleView Of(NodeOptions node, ClusterStatus? status, DateTimeOffset at, IReadOnlyList<ConsoleEvent> events, Traffic counters) => new(
        node.Site,
        at,
        status?.MetaLeader,
        status?.FullyReplicated ?? false,
        [.. (status?.Sites ?? []).Select(s => new ConsoleSite(s.Name, s.ServerAnswers, s.NodeReady, s.StreamLeaders + s.KvLeaders + s.ObjectStoreLeaders, s.ServerHealth?.Error,
            s.ServerVersion is null ? null : $"{s.ServerVersion}, {(s.SyncAlways == true ? "fsync" : "lazy fsync")}"))],
        [.. (status?.Assets ?? []).Select(a => new ConsoleAsset(a.Stream, a.Leader, a.Peers.Distinct().Count(), a.Messages))],
        status?.Behind ?? [],
        (long)(status?.Assets ?? []).Where(a => a.Stream.StartsWith("CHAT_", StringComparison.Ordinal)).Sum(a => (decimal)a.Messages),
        counters.Requests,
        counters.Errors,
        events,
        node.ControlSocket is not null);
}
