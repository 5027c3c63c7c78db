using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;

namespace Haetae.Status;

/// <summary>The status page's data from this node's latest assessment and its copy of the record.</summary>
internal sealed class StatusViews(StatusWatch watch, StatusCache cache, NodeOptions node, ServiceSurfaces surfaces, TimeProvider time)
{
    /// <summary>A node whose latest good reading is older than this says its page is stale.</summary>
    public static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(5);

    /// <summary>Statuspage's weight of a partial outage in uptime (a major outage counts whole).</summary>
    public const double PartialWeight = 0.3;

    public IReadOnlyList<ServiceSurface> Services => surfaces.All;

    public IReadOnlyList<string> Sites => [.. node.Sites.Select(s => s.Name)];

    public string Site => node.Site;

    public StatusView Now()
    {
        var now = time.GetUtcNow();
        var latest = watch.Latest;
        // Cut off from the others, the node shows what it last knew with them, and says how old that is.
        var shown = watch.LatestGood ?? latest;
        var at = shown?.At ?? now;
        var components = shown?.Components ?? [.. watch.ComponentIds.Select(id => new ComponentView(id, id.Split('@')[0], id.Split('@')[1], ComponentState.Operational, null, null))];
        var open = cache.Open;
        var maintenance = cache.Maintenance.Where(m => m.To > now).ToList();
        return new StatusView(
            node.Site,
            at,
            latest is null || now - at > FreshFor,
            StatusModel.Worst(components.Select(c => c.State)),
            components,
            open,
            maintenance);
    }

    /// <summary>Each component's uptime per day over the last <paramref name="days"/> days (today last), from the incident record.</summary>
    public IReadOnlyList<UptimeView> Uptime(int days)
    {
        var now = time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var incidents = cache.Incidents.Where(i => i.Start.UtcDateTime >= today.AddDays(-days).ToDateTime(TimeOnly.MinValue)
            || (i.End ?? now).UtcDateTime >= today.AddDays(-days).ToDateTime(TimeOnly.MinValue)).ToList();
        return [.. watch.ComponentIds.Select(id => Of(id, days, today, now, incidents))];
    }

    /// <summary>One line of uptime per service (sites merged: a day is as good as its worst site).</summary>
    public IReadOnlyList<UptimeView> UptimeByService(int days)
    {
        var all = Uptime(days);
        return [.. all.GroupBy(u => u.Component.Split('@')[0]).Select(g =>
        {
            var history = g.First().History.Select((day, i) =>
            {
                var worst = g.MinBy(u => u.History[i].Uptime)!.History[i];
                return worst with { Incidents = [.. g.SelectMany(u => u.History[i].Incidents).Distinct()] };
            }).ToList();
            return new UptimeView(g.Key, days, history.Average(d => d.Uptime), history);
        })];
    }

    private static UptimeView Of(string component, int days, DateOnly today, DateTimeOffset now, IReadOnlyList<IncidentView> incidents)
    {
        var history = new List<UptimeDay>();
        for (var d = days - 1; d >= 0; d--)
        {
            var day = today.AddDays(-d);
            var from = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var to = from.AddDays(1) < now ? from.AddDays(1) : now;
            double major = 0, partial = 0;
            var ids = new List<string>();
            foreach (var i in incidents)
            {
                if (!i.Components.TryGetValue(component, out var state) || state is ComponentState.Operational or ComponentState.UnderMaintenance or ComponentState.DegradedPerformance)
                {
                    continue;
                }

                var overlap = (Min(i.End ?? now, to) - Max(i.Start, from)).TotalSeconds;
                if (overlap <= 0)
                {
                    continue;
                }

                ids.Add(i.Id);
                if (state == ComponentState.MajorOutage)
                {
                    major += overlap;
                }
                else
                {
                    partial += overlap;
                }
            }

            var length = Math.Max(1, (to - from).TotalSeconds);
            history.Add(new UptimeDay(day, Math.Clamp(1 - ((major + (PartialWeight * partial)) / length), 0, 1), major, partial, ids));
        }

        return new UptimeView(component, days, history.Average(d => d.Uptime), history);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
