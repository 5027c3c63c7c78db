using System.Globalization;
using System.Net;
using System.Text;
using Haetae.Contracts;

namespace Haetae.Status;

/// <summary>
/// The report of one incident for the regulator (the Ministry of Science and ICT) and for the record: the
/// timeline, cause, components, sites and people affected, writes lost, measures taken, time to full
/// redundancy, and a chart of the error rate and write pauses, as one self-contained HTML page (no
/// external file) and as Markdown. `haetae incidents report ID` writes both.
/// </summary>
public static class IncidentReport
{
    public static string Markdown(IncidentView i, IReadOnlyList<IncidentSample> samples)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Incident report {i.Id}: {i.Title}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{i.TitleKo}");
        md.AppendLine();
        foreach (var (name, value) in Facts(i, samples))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- **{name}**: {value}");
        }

        md.AppendLine();
        md.AppendLine("## Timeline");
        md.AppendLine();
        md.AppendLine("| Time (UTC) | Stage | By | What happened |");
        md.AppendLine("|---|---|---|---|");
        foreach (var u in i.Updates.OrderBy(u => u.At))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {u.At.UtcDateTime:yyyy-MM-dd HH:mm:ss} | {u.Stage} | {u.By} | {u.Text.Replace("|", "\\|", StringComparison.Ordinal)} |");
        }

        md.AppendLine();
        md.AppendLine("## Measures taken");
        md.AppendLine();
        foreach (var measure in Measures(i))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {measure}");
        }

        md.AppendLine();
        md.AppendLine("## Error rate and write pauses");
        md.AppendLine();
        md.AppendLine("| Second (UTC) | Requests | Failed | Error rate | Longest write (ms) |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var s in samples)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {DateTimeOffset.FromUnixTimeSeconds(s.Second).UtcDateTime:HH:mm:ss} | {s.Requests} | {s.Errors} | {Rate(s):0.0%} | {s.LongestWriteMs} |");
        }

        if (i.Postmortem is { } postmortem)
        {
            md.AppendLine();
            md.AppendLine("## Post-mortem");
            md.AppendLine();
            md.AppendLine(postmortem);
        }

        return md.ToString();
    }

    public static string Html(IncidentView i, IReadOnlyList<IncidentSample> samples)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E($"Incident report {i.Id}")).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#1f2328}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left}")
            .Append("svg{width:100%;border:1px solid #d0d7de}dt{font-weight:600}</style></head><body>")
            .Append("<h1>").Append(E($"Incident report {i.Id}")).Append("</h1><p>").Append(E(i.Title)).Append("<br><span lang=\"ko\">").Append(E(i.TitleKo)).Append("</span></p><dl>");
        foreach (var (name, value) in Facts(i, samples))
        {
            html.Append("<dt>").Append(E(name)).Append("</dt><dd>").Append(E(value)).Append("</dd>");
        }

        html.Append("</dl><h2>Timeline</h2><table><thead><tr><th>Time (UTC)</th><th>Stage</th><th>By</th><th>What happened</th></tr></thead><tbody>");
        foreach (var u in i.Updates.OrderBy(u => u.At))
        {
            html.Append("<tr><td>").Append(u.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append("</td><td>").Append(E(u.Stage.ToString()))
                .Append("</td><td>").Append(E(u.By)).Append("</td><td>").Append(E(u.Text)).Append("<br><span lang=\"ko\">").Append(E(u.TextKo)).Append("</span></td></tr>");
        }

        html.Append("</tbody></table><h2>Measures taken</h2><ul>");
        foreach (var measure in Measures(i))
        {
            html.Append("<li>").Append(E(measure)).Append("</li>");
        }

        html.Append("</ul><h2>Error rate and write pauses</h2>").Append(Chart(i, samples));
        if (i.Postmortem is { } postmortem)
        {
            html.Append("<h2>Post-mortem</h2>");
            foreach (var paragraph in postmortem.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
            {
                html.Append("<p>").Append(E(paragraph)).Append("</p>");
            }
        }

        return html.Append("</body></html>").ToString();
    }

    private static IEnumerable<(string Name, string Value)> Facts(IncidentView i, IReadOnlyList<IncidentSample> samples)
    {
        yield return ("Cause", i.Cause);
        yield return ("Impact", i.Impact.ToString());
        yield return ("Started", $"{i.Start.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC (recorded {(i.OpenedAt - i.Start).TotalSeconds:0.0} s later)");
        yield return ("Ended", i.End is { } end ? $"{end.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" : "still open");
        yield return ("Duration", i.DurationSeconds is { } d ? StatusCache.Duration(TimeSpan.FromSeconds(d)) : "–");
        yield return ("Time to full redundancy", i.FullRedundancyAt is { } full ? StatusCache.Duration(full - i.Start) : "–");
        yield return ("Sites affected", i.Sites.Count == 0 ? "–" : string.Join(", ", i.Sites));
        yield return ("Services affected", i.Services.Count == 0 ? "–" : string.Join(", ", i.Services));
        yield return ("Components affected", i.Components.Count == 0 ? "–" : string.Join(", ", i.Components.Select(c => $"{c.Key} ({c.Value})")));
        yield return ("People who had a request fail or wait past 5 s", i.PeopleAffected.ToString(CultureInfo.InvariantCulture));
        yield return ("Acknowledged writes lost", i.WritesLost.Count == 0 ? "not checked yet" : string.Join("; ", i.WritesLost.Select(w => $"{w.Lost} ({w.Source}, {w.Checked:N0} checked)")));
        if (samples.Count > 0)
        {
            yield return ("Requests while open", $"{samples.Sum(s => s.Requests):N0}, of which {samples.Sum(s => s.Errors):N0} failed; longest write {samples.Max(s => s.LongestWriteMs):N0} ms");
        }
    }

    /// <summary>What was done: the platform's own measures (from its updates) and the operators' updates.</summary>
    private static IEnumerable<string> Measures(IncidentView i)
    {
        foreach (var u in i.Updates.OrderBy(u => u.At))
        {
            var measure = u.Id switch
            {
                "lost" or "cut-off" => "Clients moved to the surviving sites by themselves, with the same request ids (no write applied twice).",
                "elected" => "The surviving sites elected new leaders for every stream and bucket the lost site led; writes went on.",
                "back" => "The site was brought back and its replicas rebuilt from the other sites.",
                "blackout" => "Every site started again from its own disk; writes acknowledged before the cut were on disk at a majority.",
                "resolved" => "Full redundancy was confirmed: three caught-up replicas of every stream and bucket, one per site.",
                _ when u.By == "operator" => $"Operator: {u.Text}",
                _ => null,
            };
            if (measure is not null)
            {
                yield return $"{u.At.UtcDateTime:HH:mm:ss} UTC: {measure}";
            }
        }
    }

    private static double Rate(IncidentSample s) => s.Requests == 0 ? 0 : (double)s.Errors / s.Requests;

    private static string Chart(IncidentView i, IReadOnlyList<IncidentSample> samples)
    {
        if (samples.Count == 0)
        {
            return "<p>No traffic was recorded while the incident was open.</p>";
        }

        const int width = 900, height = 240, pad = 40;
        var first = samples[0].Second;
        var span = Math.Max(1, samples[^1].Second - first);
        var longest = Math.Max(1, samples.Max(s => s.LongestWriteMs));
        double X(long second) => pad + ((double)(second - first) / span * (width - (2 * pad)));
        double Y(double share) => height - pad - (share * (height - (2 * pad)));
        var rate = string.Join(" ", samples.Select(s => string.Create(CultureInfo.InvariantCulture, $"{X(s.Second):0.0},{Y(Rate(s)):0.0}")));
        var pause = string.Join(" ", samples.Select(s => string.Create(CultureInfo.InvariantCulture, $"{X(s.Second):0.0},{Y((double)s.LongestWriteMs / longest):0.0}")));
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Error rate (red, 0 to 100%) and longest write (blue, 0 to {longest} ms) per second\">");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{pad}\" y1=\"{height - pad}\" x2=\"{width - pad}\" y2=\"{height - pad}\" stroke=\"#444\"/>");
        foreach (var u in i.Updates)
        {
            var x = X(Math.Clamp(u.At.ToUnixTimeSeconds(), first, first + span));
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x:0.0}\" y1=\"{pad}\" x2=\"{x:0.0}\" y2=\"{height - pad}\" stroke=\"#777\" stroke-dasharray=\"4\"/><text x=\"{x + 3:0.0}\" y=\"{pad - 5}\" font-size=\"11\">{E(u.Id)}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#cf222e\" stroke-width=\"2\" points=\"{rate}\"><title>error rate</title></polyline>");
        svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#0550ae\" stroke-width=\"2\" points=\"{pause}\"><title>longest write</title></polyline>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"2\" y=\"{pad + 4}\" font-size=\"11\">100% / {longest} ms</text><text x=\"{pad}\" y=\"{height - 10}\" font-size=\"11\">{DateTimeOffset.FromUnixTimeSeconds(first).UtcDateTime:HH:mm:ss}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width - pad - 50}\" y=\"{height - 10}\" font-size=\"11\">{DateTimeOffset.FromUnixTimeSeconds(first + span).UtcDateTime:HH:mm:ss}</text></svg>");
        svg.Append("<p><span style=\"color:#cf222e\">&#9644; error rate</span> <span style=\"color:#0550ae\">&#9644; longest write</span></p>");
        return svg.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
