namespace Haetae.Contracts;

/// <summary>A component's state, Statuspage's five (worst last but one: maintenance is planned, not broken).</summary>
public enum ComponentState
{
    Operational,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
    UnderMaintenance,
}

/// <summary>
/// One thing people can find working or not: a service at a site ("chat@ansan"), or a site itself
/// ("site@ansan", <see cref="Service"/> "site").
/// </summary>
/// <param name="Reason">Why it is not operational, in English (null when it is).</param>
/// <param name="ReasonKo">The same in Korean.</param>
public sealed record ComponentView(string Id, string Service, string Site, ComponentState State, string? Reason, string? ReasonKo);

/// <summary>Statuspage's stages of an incident.</summary>
public enum IncidentStage
{
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

/// <summary>How bad an incident is: <see cref="Critical"/> when every site was lost, <see cref="Major"/> for a site or a service down.</summary>
public enum IncidentImpact
{
    None,
    Minor,
    Major,
    Critical,
}

/// <summary>One entry of an incident's timeline, written by the platform ("platform") or by an operator ("operator").</summary>
/// <param name="Id">Unique within the incident; the platform's own updates are named by what they say ("lost", "elected", "rebuilding", "redundant"), so every node writes each once.</param>
public sealed record IncidentUpdate(string Id, DateTimeOffset At, IncidentStage Stage, string Text, string TextKo, string By);

/// <summary>What was lost, and how it is known (0 expected).</summary>
/// <param name="Source">The check that counted ("pay audit", "drill").</param>
/// <param name="Checked">How many acknowledged writes it looked at.</param>
public sealed record WritesLost(string Source, long Checked, long Lost, DateTimeOffset At);

/// <summary>
/// An outage as the platform recorded it: opened by itself when a cause appeared (a site lost or cut off,
/// every site down, a service failing) or by an operator, resolved when full redundancy was back.
/// </summary>
/// <param name="Cause">What opened it: "site.NAME", "platform" (every site), "service.NAME", or "manual.ID".</param>
/// <param name="OpenedAt">When it was recorded (the cause started at <see cref="Start"/>, up to a few seconds before).</param>
/// <param name="Components">Every component that was not operational while it was open (ids as in <see cref="ComponentView"/>), with the worst state seen.</param>
/// <param name="Services">The services it touched ("chat", "pay", ...): what <c>IOutages</c> answers by.</param>
/// <param name="PeopleAffected">People who had a request fail or wait past 5 seconds while it was open, as the nodes counted them.</param>
/// <param name="FullRedundancyAt">When every asset had three caught-up replicas again.</param>
public sealed record IncidentView(
    string Id,
    string Cause,
    string Title,
    string TitleKo,
    IncidentImpact Impact,
    IncidentStage Stage,
    DateTimeOffset Start,
    DateTimeOffset OpenedAt,
    DateTimeOffset? End,
    IReadOnlyDictionary<string, ComponentState> Components,
    IReadOnlyList<string> Services,
    IReadOnlyList<string> Sites,
    int PeopleAffected,
    IReadOnlyList<WritesLost> WritesLost,
    IReadOnlyList<IncidentUpdate> Updates,
    string? Postmortem,
    DateTimeOffset? FullRedundancyAt)
{
    public double? DurationSeconds => End is { } end ? (end - Start).TotalSeconds : null;
}

/// <summary>One second of the traffic every node reported while an incident was open (summed over the nodes; the longest write of any).</summary>
public sealed record IncidentSample(long Second, int Requests, int Errors, int LongestWriteMs);

/// <summary>Planned work: its components show "under maintenance" while it lasts, and no incident opens for them.</summary>
public sealed record MaintenanceView(string Id, string Title, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> Components, DateTimeOffset CreatedAt);

/// <summary>The status page's data, as the node that answers knew it at <see cref="At"/>.</summary>
/// <param name="Stale">True when the node cannot read the platform now (its site is cut off, or the store is electing): the rest is the last it knew.</param>
public sealed record StatusView(
    string Site,
    DateTimeOffset At,
    bool Stale,
    ComponentState Overall,
    IReadOnlyList<ComponentView> Components,
    IReadOnlyList<IncidentView> Open,
    IReadOnlyList<MaintenanceView> Maintenance);

/// <summary>One day of one component: the share of it spent in each state other than operational.</summary>
public sealed record UptimeDay(DateOnly Day, double Uptime, double MajorSeconds, double PartialSeconds, IReadOnlyList<string> Incidents);

public sealed record UptimeView(string Component, int Days, double Uptime, IReadOnlyList<UptimeDay> History);

/// <summary>An outage window for other services (gift validity, ride fares): the interval an incident touching the service was open.</summary>
public sealed record OutageWindow(string IncidentId, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> Services, bool Open);

/// <summary>An operator opens an incident by hand.</summary>
public sealed record OpenIncidentRequest(string? Title, string? Text, IReadOnlyList<string>? Components, IncidentImpact? Impact);

/// <summary>An operator adds to an incident's timeline (and may move its stage; Resolved closes it).</summary>
public sealed record IncidentUpdateRequest(IncidentStage? Stage, string? Text);

public sealed record PostmortemRequest(string? Text);

public sealed record MaintenanceRequest(string? Title, DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<string>? Components);

/// <summary>A checker of acknowledged writes (the drill) reports what it found for an incident.</summary>
public sealed record WritesLostRequest(string? Source, long? Checked, long? Lost);

/// <summary>A webhook subscription: every incident update is POSTed to <see cref="Url"/>, signed with the secret the subscription returns.</summary>
public sealed record SubscribeRequest(string? Url);

/// <param name="Secret">Shown once: HMAC-SHA256 key of the Haetae-Signature header.</param>
public sealed record SubscriptionView(string Id, string Url, string? Secret, DateTimeOffset CreatedAt);

/// <summary>What a webhook receives: one update of one incident (Haetae-Delivery names it; the same delivery is never sent again once answered 2xx).</summary>
public sealed record WebhookPayload(string DeliveryId, IncidentView Incident, IncidentUpdate Update);

/// <summary>What a person's devices are told about an outage.</summary>
public enum NoticeKind
{
    /// <summary>An incident is open: a banner.</summary>
    Incident,

    /// <summary>It is over.</summary>
    Resolved,

    /// <summary>How to claim damages for it (the law asks for this within 30 days of recovery).</summary>
    Damages,
}

/// <param name="Link">The incident on the status page.</param>
public sealed record Notice(string IncidentId, NoticeKind Kind, string Title, string TitleKo, string Text, string TextKo, DateTimeOffset At, string Link);
