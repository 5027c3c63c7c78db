using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Haetae.Contracts;

namespace Haetae.Drill;

/// <summary>The drill's report: a summary table for the terminal, a JSON file, and a self-contained HTML page.</summary>
public static class DrillReportWriter
{
    public static string Summary(DrillReport report)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Fire drill: {report.Rounds.Count} fire(s), {report.Cuts.Count} partition(s), {report.PowerCuts.Count} power cut(s) in {report.Seconds:0} s, {report.Options.People} people");
        text.AppendLine($"  nats-server: {string.Join(", ", report.Servers.Select(Describe))}");
        foreach (var cut in report.Cuts)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {cut.Site}: cut off from {cut.From.TotalSeconds:0} s to {cut.To.TotalSeconds:0} s, full redundancy again at {cut.Converged.TotalSeconds:0} s");
        }

        foreach (var incident in report.Incidents ?? [])
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  incident {incident.Id} ({incident.Cause}): {incident.StartAt:0.0} s to {(incident.EndAt is { } end ? $"{end:0.0} s" : "open")}, {incident.PeopleAffected} people affected: {incident.Link}");
        }

        foreach (var power in report.PowerCuts)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {string.Join(", ", power.Sites)}: power cut at {power.CutAt:0} s, back at {power.OnAt:0} s, ready at {power.ReadyAt:0} s, full redundancy at {power.ConvergedAt:0} s");
            foreach (var (site, said) in power.Undone)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {site}'s disk: {said}");
            }
        }

        foreach (var round in report.Rounds)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {round.Site}: burned at {round.FireAt:0} s, rebuild from {round.RebuildStartedAt:0} s, full redundancy after {round.RebuildSeconds:0.0} s");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  longest write pause per shard: {string.Join(", ", report.LongestWritePauseSecondsPerShard.Select(p => $"{p.Key} {p.Value:0.0}s"))}");
        if (report.Cuts.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  longest write pause per shard from healing to full redundancy: {string.Join(", ", report.LongestHealPauseSecondsPerShard.Select(p => $"{p.Key} {p.Value:0.0}s"))}");
        }
        foreach (var (service, seconds) in report.PerSecond)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {service}: {seconds.Sum(s => s.Ok)} ok, {seconds.Sum(s => s.Errors)} errors");
        }

        text.AppendLine();
        text.AppendLine($"{"",-6} {"service",-9} {"promise",-75} {"checked",8} {"broken",7}");
        foreach (var check in report.Checks)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{(check.Kept ? "KEPT" : "BROKEN"),-6} {check.Service,-9} {check.Promise,-75} {check.Checked,8} {check.Violations,7}");
        }

        text.AppendLine();
        text.AppendLine(report.AllKept ? "Every promise kept." : "PROMISES BROKEN: " + string.Join("; ", report.Checks.Where(c => !c.Kept).Select(c => c.Detail)));
        return text.ToString();
    }

    private static string Describe(DrillServer server) =>
        $"{server.Site} {server.Version ?? "(no answer)"}{server.SyncAlways switch { true => ", every write fsynced", false => ", lazy fsync", null => "" }}";

    /// <summary>Writes drill.json and drill.html into <paramref name="directory"/>; returns their paths.</summary>
    public static async Task<(string Json, string Html)> WriteAsync(DrillReport report, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var json = Path.Combine(directory, "drill.json");
        var html = Path.Combine(directory, "drill.html");
        var document = new
        {
            report.Seconds,
            People = report.Options.People,
            allKept = report.AllKept,
            servers = report.Servers,
            checks = report.Checks,
            rounds = report.Rounds,
            powerCuts = report.PowerCuts.Select(p => new { sites = p.Sites, cutAt = p.CutAt, onAt = p.OnAt, readyAt = p.ReadyAt, convergedAt = p.ConvergedAt, undone = p.Undone }),
            partitions = report.Cuts.Select(c => new { site = c.Site, from = c.From.TotalSeconds, to = c.To.TotalSeconds, converged = c.Converged.TotalSeconds }),
            longestWritePauseSecondsPerShard = report.LongestWritePauseSecondsPerShard,
            longestHealPauseSecondsPerShard = report.LongestHealPauseSecondsPerShard,
            perSecond = report.PerSecond.ToDictionary(s => s.Key, s => s.Value.Select(v => new { ok = v.Ok, errors = v.Errors })),
            marks = report.Marks.Select(m => new { at = m.At, what = m.What }),
            incidents = report.Incidents ?? [],
        };
        await File.WriteAllTextAsync(json, JsonSerializer.Serialize(document, HaetaeJson.Readable), cancellationToken);
        await File.WriteAllTextAsync(html, Html(report), cancellationToken);
        return (json, html);
    }

    private static string Html(DrillReport report)
    {
        const int width = 900, height = 260, pad = 40;
        var seconds = Math.Max(1, report.PerSecond.Values.Select(v => v.Count).DefaultIfEmpty(1).Max());
        var peak = Math.Max(1, report.PerSecond.Values.SelectMany(v => v).Select(v => Math.Max(v.Ok, v.Errors)).DefaultIfEmpty(1).Max());
        double X(double second) => pad + (second / seconds * (width - (2 * pad)));
        double Y(double value) => height - pad - (value / peak * (height - (2 * pad)));
        string Line(IReadOnlyList<(int Ok, int Errors)> values, Func<(int Ok, int Errors), int> pick) =>
            string.Join(" ", values.Select((v, i) => string.Create(CultureInfo.InvariantCulture, $"{X(i):0.0},{Y(pick(v)):0.0}")));

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Successes and errors per second\">");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{pad}\" y1=\"{height - pad}\" x2=\"{width - pad}\" y2=\"{height - pad}\" stroke=\"#444\"/>");
        foreach (var cut in report.Cuts)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{X(cut.From.TotalSeconds):0.0}\" y=\"{pad}\" width=\"{Math.Max(1, X(cut.To.TotalSeconds) - X(cut.From.TotalSeconds)):0.0}\" height=\"{height - (2 * pad)}\" fill=\"#fec\"/>");
        }

        foreach (var power in report.PowerCuts)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{X(power.CutAt):0.0}\" y=\"{pad}\" width=\"{Math.Max(1, X(power.ConvergedAt) - X(power.CutAt)):0.0}\" height=\"{height - (2 * pad)}\" fill=\"#ddd\"/>");
        }

        foreach (var round in report.Rounds)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{X(round.FireAt):0.0}\" y=\"{pad}\" width=\"{Math.Max(1, X(round.RebuildStartedAt + round.RebuildSeconds) - X(round.FireAt)):0.0}\" height=\"{height - (2 * pad)}\" fill=\"#fdd\"/>");
        }

        foreach (var (at, what) in report.Marks)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{X(at):0.0}\" y1=\"{pad}\" x2=\"{X(at):0.0}\" y2=\"{height - pad}\" stroke=\"#a33\" stroke-dasharray=\"4\"/><text x=\"{X(at) + 3:0.0}\" y=\"{pad - 5}\" font-size=\"11\" fill=\"#a33\">{WebUtility.HtmlEncode(what)}</text>");
        }

        foreach (var (service, values) in report.PerSecond)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" points=\"{Line(values, v => v.Ok)}\"><title>{WebUtility.HtmlEncode(service)} successes per second</title></polyline>");
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#c62828\" stroke-width=\"2\" points=\"{Line(values, v => v.Errors)}\"><title>{WebUtility.HtmlEncode(service)} errors per second</title></polyline>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{pad}\" y=\"{height - 10}\" font-size=\"11\">0 s</text><text x=\"{width - pad - 30}\" y=\"{height - 10}\" font-size=\"11\">{seconds} s</text><text x=\"2\" y=\"{pad + 4}\" font-size=\"11\">{peak}/s</text></svg>");

        var links = string.Join("", (report.Incidents ?? []).Select(i =>
            $"<li><a href=\"{WebUtility.HtmlEncode(i.Link)}\">{WebUtility.HtmlEncode(i.Id)}</a>: {WebUtility.HtmlEncode(i.Title)} ({i.PeopleAffected} people affected)</li>"));
        var rows = string.Join("", report.Checks.Select(c =>
            $"<tr class=\"{(c.Kept ? "kept" : "broken")}\"><td>{(c.Kept ? "kept" : "BROKEN")}</td><td>{WebUtility.HtmlEncode(c.Service)}</td><td>{WebUtility.HtmlEncode(c.Promise)}</td><td>{c.Checked}</td><td>{c.Violations}</td><td>{WebUtility.HtmlEncode(c.Detail)}</td></tr>"));
        return $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Haetae fire drill</title>
            <style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111}svg{width:100%;max-width:900px;border:1px solid #ccc}
            table{border-collapse:collapse;margin-top:1rem}td,th{border:1px solid #bbb;padding:.3rem .5rem;text-align:left}
            tr.broken{background:#fdd}tr.kept td:first-child{color:#1b5e20}.legend span{margin-right:1rem}</style></head>
            <body><h1>Fire drill: {{(report.AllKept ? "every promise kept" : "promises broken")}}</h1>
            <p>{{WebUtility.HtmlEncode(Summary(report).Split('\n')[0])}}</p>
            <p class="legend"><span style="color:#1565c0">&#9644; successes per second</span><span style="color:#c62828">&#9644; errors per second</span><span style="background:#fdd">&nbsp;site down until full redundancy&nbsp;</span></p>
            {{svg}}
            <h2>Incidents the platform recorded</h2><ul>{{links}}</ul>
            <table><thead><tr><th>result</th><th>service</th><th>promise</th><th>checked</th><th>broken</th><th>detail</th></tr></thead><tbody>{{rows}}</tbody></table>
            <pre>{{WebUtility.HtmlEncode(Summary(report))}}</pre>
            </body></html>
            """;
    }
}
