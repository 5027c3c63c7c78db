using System.Security.Cryptography;
using System.Text;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;

namespace Haetae.Status;

/// <summary>An incident as stored: its public view, and the people it affected (as one-way hashes, counted, never shown).</summary>
internal sealed record IncidentEntry(IncidentView Incident, IReadOnlyList<string> Affected);

/// <summary>Which incident a cause has open (one at most), and when its last one was resolved.</summary>
internal sealed record CauseState(string? OpenId, DateTimeOffset? ResolvedAt);

/// <summary>A node's heartbeat: the newest of every site's, when none is recent, dates a blackout.</summary>
/// <param name="Stopping">Written by a node that stopped on purpose (so a platform stopped and started again is not an outage).</param>
internal sealed record Beat(DateTimeOffset At, bool Stopping);

internal sealed record Series(IReadOnlyList<IncidentSample> Samples);

internal static class StatusKeys
{
    public const string Bucket = "status";

    public static Key<IncidentEntry> Incident(string id) => new($"incident.{id}");

    public static Key<CauseState> Cause(string cause) => new($"cause.{cause}");

    public static Key<Beat> Beat(string site) => new($"beat.{site}");

    public static Key<Series> Series(string incident, string site) => new($"series.{incident}.{site}");

    public static Key<MaintenanceView> Maintenance(string id) => new($"maintenance.{id}");

    public static Key<Subscription> Subscription(string id) => new($"sub.{id}");

    public static Key<Delivery> Delivery(string subscription, string incident, string update) => new($"delivery.{subscription}.{incident}.{update}");
}

/// <summary>
/// The incident record in the replicated status bucket. Every node may open, update and resolve incidents;
/// each change is a compare-and-set, a cause has at most one open incident (its <see cref="CauseState"/>),
/// and an update is written once by its id, so three nodes that see the same fire write one incident.
/// </summary>
internal sealed class Incidents(Buckets buckets, TimeProvider time)
{
    /// <summary>
    /// Opens an incident for <paramref name="cause"/> unless one is open (null then), or unless its last one
    /// was resolved after this cause was first seen (a node that saw the same outage late).
    /// </summary>
    public async Task<IncidentView?> OpenAsync(Cause cause, IncidentImpact impact, IncidentUpdate first, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(StatusKeys.Bucket);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = await store.GetFromLeaderAsync(StatusKeys.Cause(cause.Key), cancellationToken);
            var state = current?.Value;
            if (state?.OpenId is { } open)
            {
                var existing = await store.GetFromLeaderAsync(StatusKeys.Incident(open), cancellationToken);
                if (existing is null)
                {
                    // Claimed by a node that burned before it wrote the incident itself: write it now.
                    return await store.TryCreateAsync(StatusKeys.Incident(open), new IncidentEntry(View(open, cause, impact, first), []), cancellationToken)
                        ? View(open, cause, impact, first)
                        : null;
                }

                if (existing.Value.Incident.End is not { } ended)
                {
                    return null;
                }

                // Resolved, but its node lost the cause's close: close it here, and go on as if it had been.
                state = new CauseState(null, ended);
            }

            if (state?.ResolvedAt is { } resolved && resolved >= cause.Since)
            {
                return null;
            }

            var id = $"{cause.Since.UtcDateTime:yyyyMMdd-HHmmssfff}-{cause.Key.Replace('.', '-')}";
            var claimed = current is null
                ? await store.CreateAsync(StatusKeys.Cause(cause.Key), new CauseState(id, null), cancellationToken)
                : await store.ReplaceAsync(StatusKeys.Cause(cause.Key), state! with { OpenId = id }, current.Revision, cancellationToken);
            if (claimed is null)
            {
                continue;
            }

            var view = View(id, cause, impact, first);
            await store.TryCreateAsync(StatusKeys.Incident(id), new IncidentEntry(view, []), cancellationToken);
            return view;
        }

        return null;
    }

    private IncidentView View(string id, Cause cause, IncidentImpact impact, IncidentUpdate first) => new(
        id, cause.Key, cause.Title, cause.TitleKo, impact, first.Stage, cause.Since, time.GetUtcNow(), null,
        new Dictionary<string, ComponentState>(), [], [], 0, [], [first], null, null);

    /// <summary>Opens an incident by an operator's hand (its cause is its own: nothing else closes it).</summary>
    public async Task<IncidentView> OpenByHandAsync(OpenIncidentRequest request, IReadOnlyCollection<string> knownComponents, CancellationToken cancellationToken)
    {
        var title = Text(request.Title, "title", 200);
        var text = Text(request.Text, "text", 4000);
        var components = Components(request.Components, knownComponents, required: false);

        var now = time.GetUtcNow();
        var id = $"{now.UtcDateTime:yyyyMMdd-HHmmss}-manual-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        var view = new IncidentView(
            id, $"manual.{id}", title, title, request.Impact ?? IncidentImpact.Minor, IncidentStage.Investigating, now, now, null,
            components.Distinct().ToDictionary(c => c, _ => ComponentState.PartialOutage),
            [.. components.Select(c => c.Split('@')[0]).Where(s => s != StatusModel.SiteService).Distinct()],
            [.. components.Select(c => c.Split('@')[^1]).Distinct()],
            0, [], [new IncidentUpdate("opened", now, IncidentStage.Investigating, text, text, "operator")], null, null);
        var store = await buckets.GetAsync(StatusKeys.Bucket);
        await store.TryCreateAsync(StatusKeys.Incident(id), new IncidentEntry(view, []), cancellationToken);
        return view;
    }

    /// <summary>
    /// Applies <paramref name="change"/> with compare-and-set (again on a conflict). It returns null when
    /// there is nothing to change, and must be free of side effects. The incident after, or null when absent.
    /// </summary>
    public async Task<IncidentEntry?> ChangeAsync(string id, Func<IncidentEntry, IncidentEntry?> change, CancellationToken cancellationToken)
    {
        if (!IsId(id))
        {
            return null;
        }

        var store = await buckets.GetAsync(StatusKeys.Bucket);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = await store.GetFromLeaderAsync(StatusKeys.Incident(id), cancellationToken);
            if (current is null)
            {
                return null;
            }

            if (change(current.Value) is not { } next)
            {
                return current.Value;
            }

            if (await store.ReplaceAsync(StatusKeys.Incident(id), next, current.Revision, cancellationToken) is not null)
            {
                return next;
            }
        }

        throw new ApiProblem(503, "Store busy", "the incident kept changing under this request; try again");
    }

    /// <summary>Adds <paramref name="update"/> unless the incident has an update with its id; a Resolved update closes the incident at its time.</summary>
    public Task<IncidentEntry?> AddUpdateAsync(string id, IncidentUpdate update, CancellationToken cancellationToken, DateTimeOffset? fullRedundancyAt = null) =>
        ChangeAsync(id, entry => entry.Incident.Updates.Any(u => u.Id == update.Id) || entry.Incident.End is not null ? null : entry with
        {
            Incident = entry.Incident with
            {
                Stage = update.Stage,
                Updates = [.. entry.Incident.Updates, update],
                End = update.Stage == IncidentStage.Resolved ? update.At : null,
                FullRedundancyAt = fullRedundancyAt ?? entry.Incident.FullRedundancyAt,
            },
        }, cancellationToken);

    /// <summary>Closes the incident's cause, so that the next occurrence opens a new incident.</summary>
    public async Task CloseCauseAsync(string cause, string id, DateTimeOffset end, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(StatusKeys.Bucket);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = await store.GetFromLeaderAsync(StatusKeys.Cause(cause), cancellationToken);
            if (current is null || current.Value.OpenId != id)
            {
                return;
            }

            if (await store.ReplaceAsync(StatusKeys.Cause(cause), new CauseState(null, end), current.Revision, cancellationToken) is not null)
            {
                return;
            }
        }
    }

    public async Task<IncidentEntry?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsId(id))
        {
            return null;
        }

        var store = await buckets.GetAsync(StatusKeys.Bucket);
        return (await store.TryGetAsync(StatusKeys.Incident(id), cancellationToken))?.Value;
    }

    /// <summary>Every node's series of the incident, merged by second (nodes that saw the same second agree; the largest counts).</summary>
    public async Task<IReadOnlyList<IncidentSample>> SeriesAsync(string id, IEnumerable<string> sites, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(StatusKeys.Bucket);
        var all = new List<IncidentSample>();
        foreach (var site in sites)
        {
            all.AddRange((await store.TryGetAsync(StatusKeys.Series(id, site), cancellationToken))?.Value.Samples ?? []);
        }

        return [.. all.GroupBy(s => s.Second).OrderBy(g => g.Key)
            .Select(g => new IncidentSample(g.Key, g.Max(s => s.Requests), g.Max(s => s.Errors), g.Max(s => s.LongestWriteMs)))];
    }

    /// <summary>An incident id as the record makes them (a key part: no wildcard, no dot).</summary>
    public static bool IsId(string id) => id.Length is > 0 and <= 80 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>A person's id as the record keeps it: enough to count them once, not to say who they are.</summary>
    public static string Anonymous(string user) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("haetae-incident:" + user)))[..16];

    /// <summary>An operator's text: trimmed, 1 to <paramref name="max"/> characters, no control characters but line breaks and tabs, well-formed Unicode (it goes into HTML, Atom and JSON).</summary>
    public static string Text(string? value, string name, int max)
    {
        var text = value?.Trim();
        return string.IsNullOrEmpty(text) ? throw ApiProblem.BadRequest($"{name} is required")
            : text.Length > max ? throw ApiProblem.BadRequest($"{name} must be at most {max} characters")
            : text.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t') || !IsWellFormed(text) ? throw ApiProblem.BadRequest($"{name} has control characters or broken Unicode")
            : text;
    }

    private static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Component ids an operator named: each one of <paramref name="known"/>, none missing, at most 100.</summary>
    public static IReadOnlyList<string> Components(IReadOnlyList<string?>? given, IReadOnlyCollection<string> known, bool required)
    {
        var components = given ?? [];
        if (required && components.Count == 0)
        {
            throw ApiProblem.BadRequest("components are required (for example chat@ansan)");
        }

        if (components.Count > 100)
        {
            throw ApiProblem.BadRequest("at most 100 components");
        }

        foreach (var component in components)
        {
            if (component is null || !known.Contains(component))
            {
                throw ApiProblem.BadRequest($"no component '{component}' (components look like chat@ansan or site@ansan)");
            }
        }

        return [.. components.Select(c => c!).Distinct()];
    }
}
