using Haetae.Platform.Monitoring;

namespace Haetae.Node;

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
