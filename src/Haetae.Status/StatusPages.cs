using System.Globalization;
using System.Net;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Haetae.Contracts;

namespace Haetae.Status;

/// <summary>
/// The public status page as plain HTML (no script needed), in Korean or English: components, open
/// incidents with their timelines, maintenance, 90-day uptime bars, past incidents with post-mortems;
/// one page per incident; and the Atom feed of every update.
/// </summary>
internal static class StatusPages
{
    public const int UptimeDays = 90;

    private sealed record Words(
        string Lang, string Title, string Stale, string AllGood, string SomeDown, string Components, string Service, string Open, string NoOpen,
        string Maintenance, string Uptime, string Past, string NoPast, string Started, string Ended, string Duration, string Affected, string People,
        string WritesLost, string Postmortem, string Damages, string DamagesText, string Subscribe, string SubscribeUrl, string Feed, string Json,
        string Timeline, string Other, string Site, string Back, string AsOf, string Days);

    private static readonly Words En = new(
        "en", "Haetae status", "This page shows what the node at {0} last knew, {1} ago: it cannot reach a majority of the sites now.",
        "Every service is working.", "Some services are affected.", "Components", "Service", "Open incidents", "No open incident.",
        "Scheduled maintenance", "Uptime, last 90 days", "Past incidents", "No incident recorded.", "Started", "Ended", "Duration", "Components and sites affected",
        "People who had a request fail or wait past 5 s", "Acknowledged writes lost", "Post-mortem", "Claiming damages",
        "If this outage cost you money or time, you may claim damages until {0}. Write to the operator with your account and what happened; the incident id is {1}.",
        "Subscribe to updates (webhook)", "Your webhook address (https://…)", "Atom feed", "JSON API", "Timeline", "한국어", "Site", "All incidents", "as of", "days");

    private static readonly Words Ko = new(
        "ko", "해태 서비스 상태", "이 페이지는 {0} 사이트의 노드가 {1} 전에 마지막으로 알던 상태입니다. 지금은 과반의 사이트에 연결할 수 없습니다.",
        "모든 서비스가 정상입니다.", "일부 서비스에 장애가 있습니다.", "구성 요소", "서비스", "진행 중인 장애", "진행 중인 장애가 없습니다.",
        "예정된 점검", "최근 90일 가동률", "지난 장애", "기록된 장애가 없습니다.", "시작", "종료", "지속 시간", "영향을 받은 구성 요소와 사이트",
        "요청이 실패하거나 5초 넘게 기다린 사람", "유실된 확인 완료 쓰기", "사후 분석", "손해배상 청구",
        "이 장애로 금전적·시간적 피해를 입으셨다면 {0}까지 손해배상을 청구하실 수 있습니다. 계정과 피해 내용을 운영자에게 보내 주세요. 장애 번호는 {1}입니다.",
        "업데이트 구독 (웹훅)", "웹훅 주소 (https://…)", "Atom 피드", "JSON API", "경과", "English", "사이트", "모든 장애", "기준", "일");

    public static string Language(string? query, string? acceptLanguage) =>
        query is "ko" or "en" ? query
        : (acceptLanguage ?? "").Split(',').Select(p => p.Split(';')[0].Trim()).FirstOrDefault(l => l.StartsWith("ko", StringComparison.OrdinalIgnoreCase) || l.StartsWith("en", StringComparison.OrdinalIgnoreCase)) is { } l
            && l.StartsWith("ko", StringComparison.OrdinalIgnoreCase) ? "ko" : "en";

    private static Words For(string lang) => lang == "ko" ? Ko : En;

    public static string Index(StatusView status, IReadOnlyList<UptimeView> uptime, IReadOnlyList<IncidentView> past, IReadOnlyList<(string Name, string Title, string TitleKo)> services, IReadOnlyList<string> sites, DateTimeOffset now, string lang)
    {
        var w = For(lang);
        var html = new StringBuilder();
        Head(html, w, w.Title, "/status");
        if (status.Stale)
        {
            html.Append("<p class=\"stale\" role=\"status\">").Append(E(string.Format(CultureInfo.InvariantCulture, w.Stale, status.Site, Age(now - status.At, lang)))).Append("</p>");
        }

        var good = status.Overall is ComponentState.Operational or ComponentState.UnderMaintenance;
        html.Append("<p class=\"overall ").Append(good ? "ok" : "bad").Append("\">").Append(E(good ? w.AllGood : w.SomeDown))
            .Append(" <small>(").Append(E(w.AsOf)).Append(' ').Append(Time(status.At)).Append(", ").Append(E(status.Site)).Append(")</small></p>");

        html.Append("<h2>").Append(E(w.Components)).Append("</h2><table><caption class=\"sr\">").Append(E(w.Components)).Append("</caption><thead><tr><th scope=\"col\">").Append(E(w.Service)).Append("</th>");
        foreach (var site in sites)
        {
            html.Append("<th scope=\"col\">").Append(E(site)).Append("</th>");
        }

        html.Append("</tr></thead><tbody>");
        foreach (var (name, title, titleKo) in services.Prepend((StatusModel.SiteService, "Site", "사이트")))
        {
            html.Append("<tr><th scope=\"row\">").Append(E(lang == "ko" ? titleKo : title)).Append("</th>");
            foreach (var site in sites)
            {
                var c = status.Components.FirstOrDefault(x => x.Service == name && x.Site == site);
                var state = c?.State ?? ComponentState.Operational;
                html.Append("<td class=\"").Append(Css(state)).Append("\">").Append(E(StateName(state, lang)));
                if ((lang == "ko" ? c?.ReasonKo : c?.Reason) is { } reason)
                {
                    html.Append("<br><small>").Append(E(reason)).Append("</small>");
                }

                html.Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</tbody></table>");

        html.Append("<h2>").Append(E(w.Open)).Append("</h2>");
        if (status.Open.Count == 0)
        {
            html.Append("<p>").Append(E(w.NoOpen)).Append("</p>");
        }

        foreach (var incident in status.Open)
        {
            IncidentSection(html, incident, w, lang, now, full: false);
        }

        if (status.Maintenance.Count > 0)
        {
            html.Append("<h2>").Append(E(w.Maintenance)).Append("</h2><ul>");
            foreach (var m in status.Maintenance)
            {
                html.Append("<li>").Append(E(m.Title)).Append(": ").Append(Time(m.From)).Append(" – ").Append(Time(m.To)).Append(" (").Append(E(string.Join(", ", m.Components))).Append(")</li>");
            }

            html.Append("</ul>");
        }

        html.Append("<h2>").Append(E(w.Uptime)).Append("</h2>");
        foreach (var u in uptime)
        {
            var title = u.Component == StatusModel.SiteService ? (lang == "ko" ? "사이트" : "Sites") : services.FirstOrDefault(s => s.Name == u.Component) is { Name: not null } s ? (lang == "ko" ? s.TitleKo : s.Title) : u.Component;
            var label = $"{title}: {u.Uptime * 100:0.000}% ({u.Days} {w.Days})";
            html.Append("<div class=\"uptime\"><p>").Append(E(label)).Append("</p><svg role=\"img\" aria-label=\"").Append(E(label)).Append("\" viewBox=\"0 0 ").Append(u.History.Count * 4).Append(" 20\" preserveAspectRatio=\"none\">");
            for (var i = 0; i < u.History.Count; i++)
            {
                var day = u.History[i];
                var fill = day.Uptime >= 0.9999 ? "#1a7f37" : day.Uptime >= 0.99 ? "#9a6700" : "#cf222e";
                html.Append("<rect x=\"").Append(i * 4).Append("\" y=\"0\" width=\"3\" height=\"20\" fill=\"").Append(fill).Append("\"><title>")
                    .Append(day.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append(": ").Append((day.Uptime * 100).ToString("0.00", CultureInfo.InvariantCulture)).Append('%')
                    .Append(day.Incidents.Count > 0 ? " – " + string.Join(", ", day.Incidents) : "").Append("</title></rect>");
            }

            html.Append("</svg></div>");
        }

        html.Append("<h2>").Append(E(w.Past)).Append("</h2>");
        PastList(html, past, w, lang);
        html.Append("<p><a href=\"/status/incidents?lang=").Append(lang).Append("\">").Append(E(w.Back)).Append("</a></p>");
        SubscribeForm(html, w, lang);
        Foot(html, w, lang, "/status");
        return html.ToString();
    }

    public static string Incident(IncidentView incident, DateTimeOffset now, string lang)
    {
        var w = For(lang);
        var html = new StringBuilder();
        Head(html, w, (lang == "ko" ? incident.TitleKo : incident.Title) + " – " + w.Title, $"/status/incidents/{incident.Id}");
        IncidentSection(html, incident, w, lang, now, full: true);
        html.Append("<p><a href=\"/status?lang=").Append(lang).Append("\">").Append(E(w.Title)).Append("</a></p>");
        Foot(html, w, lang, $"/status/incidents/{incident.Id}");
        return html.ToString();
    }

    public static string History(IReadOnlyList<IncidentView> incidents, string lang)
    {
        var w = For(lang);
        var html = new StringBuilder();
        Head(html, w, w.Past + " – " + w.Title, "/status/incidents");
        html.Append("<h2>").Append(E(w.Past)).Append("</h2>");
        PastList(html, incidents, w, lang);
        html.Append("<p><a href=\"/status?lang=").Append(lang).Append("\">").Append(E(w.Title)).Append("</a></p>");
        Foot(html, w, lang, "/status/incidents");
        return html.ToString();
    }

    public static string Subscribed(SubscriptionView subscription, string lang)
    {
        var w = For(lang);
        var html = new StringBuilder();
        Head(html, w, w.Subscribe, "/status");
        html.Append("<h2>").Append(E(w.Subscribe)).Append("</h2><p>").Append(E(subscription.Url)).Append("</p><p>")
            .Append(E(lang == "ko" ? "서명 키 (다시 표시되지 않습니다):" : "Signing secret (shown once):")).Append(" <code>").Append(E(subscription.Secret ?? "")).Append("</code></p><p>")
            .Append(E(lang == "ko" ? "구독 번호:" : "Subscription id:")).Append(" <code>").Append(E(subscription.Id)).Append("</code></p>");
        html.Append("<p><a href=\"/status?lang=").Append(lang).Append("\">").Append(E(w.Title)).Append("</a></p>");
        Foot(html, w, lang, "/status");
        return html.ToString();
    }

    private static void PastList(StringBuilder html, IReadOnlyList<IncidentView> past, Words w, string lang)
    {
        if (past.Count == 0)
        {
            html.Append("<p>").Append(E(w.NoPast)).Append("</p>");
            return;
        }

        html.Append("<ul class=\"past\">");
        foreach (var i in past)
        {
            html.Append("<li><a href=\"/status/incidents/").Append(E(i.Id)).Append("?lang=").Append(lang).Append("\">").Append(E(lang == "ko" ? i.TitleKo : i.Title)).Append("</a> ")
                .Append(Time(i.Start)).Append(i.DurationSeconds is { } d ? $" ({E(Age(TimeSpan.FromSeconds(d), lang))})" : "")
                .Append(i.Postmortem is not null ? " · " + E(w.Postmortem) : "").Append("</li>");
        }

        html.Append("</ul>");
    }

    private static void IncidentSection(StringBuilder html, IncidentView i, Words w, string lang, DateTimeOffset now, bool full)
    {
        var tag = full ? "h2" : "h3";
        html.Append("<section class=\"incident\"><").Append(tag).Append("><a href=\"/status/incidents/").Append(E(i.Id)).Append("?lang=").Append(lang).Append("\">")
            .Append(E(lang == "ko" ? i.TitleKo : i.Title)).Append("</a></").Append(tag).Append("><dl>")
            .Append("<dt>").Append(E(w.Started)).Append("</dt><dd>").Append(Time(i.Start)).Append("</dd>");
        if (i.End is { } end)
        {
            html.Append("<dt>").Append(E(w.Ended)).Append("</dt><dd>").Append(Time(end)).Append("</dd><dt>").Append(E(w.Duration)).Append("</dt><dd>").Append(E(Age(end - i.Start, lang))).Append("</dd>");
        }

        html.Append("<dt>").Append(E(w.Affected)).Append("</dt><dd>").Append(E(i.Components.Count == 0 ? "–" : string.Join(", ", i.Components.Select(c => $"{c.Key} ({StateName(c.Value, lang)})")))).Append("</dd>")
            .Append("<dt>").Append(E(w.People)).Append("</dt><dd>").Append(i.PeopleAffected.ToString(CultureInfo.InvariantCulture)).Append("</dd>")
            .Append("<dt>").Append(E(w.WritesLost)).Append("</dt><dd>").Append(E(i.WritesLost.Count == 0 ? "–" : string.Join("; ", i.WritesLost.Select(l => $"{l.Lost} ({l.Source}: {l.Checked:N0} checked)")))).Append("</dd></dl>");
        html.Append("<h4>").Append(E(w.Timeline)).Append("</h4><ol class=\"timeline\">");
        foreach (var u in i.Updates.OrderByDescending(u => u.At))
        {
            html.Append("<li><strong>").Append(E(StageName(u.Stage, lang))).Append("</strong> ").Append(Time(u.At)).Append(" – ").Append(E(lang == "ko" ? u.TextKo : u.Text)).Append("</li>");
        }

        html.Append("</ol>");
        if (full && i.Postmortem is { } postmortem)
        {
            html.Append("<h3>").Append(E(w.Postmortem)).Append("</h3><div class=\"postmortem\">");
            foreach (var paragraph in postmortem.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
            {
                html.Append("<p>").Append(E(paragraph).Replace("\n", "<br>", StringComparison.Ordinal)).Append("</p>");
            }

            html.Append("</div>");
        }

        if (full && i.End is { } ended)
        {
            html.Append("<h3 id=\"damages\">").Append(E(w.Damages)).Append("</h3><p>")
                .Append(E(string.Format(CultureInfo.InvariantCulture, w.DamagesText, (ended + StatusCache.DamagesNotice).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), i.Id))).Append("</p>");
        }

        html.Append("</section>");
    }

    private static void SubscribeForm(StringBuilder html, Words w, string lang) =>
        html.Append("<h2>").Append(E(w.Subscribe)).Append("</h2><form method=\"post\" action=\"/status/subscribe?lang=").Append(lang).Append("\"><label for=\"url\">").Append(E(w.SubscribeUrl))
            .Append("</label> <input id=\"url\" name=\"url\" type=\"url\" required> <button type=\"submit\">").Append(E(lang == "ko" ? "구독" : "Subscribe")).Append("</button></form>");

    private static void Head(StringBuilder html, Words w, string title, string path)
    {
        html.Append("<!DOCTYPE html><html lang=\"").Append(w.Lang).Append("\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
            .Append(E(title)).Append("</title><link rel=\"alternate\" type=\"application/atom+xml\" href=\"/status/feed.atom\" title=\"").Append(E(w.Feed)).Append("\"><style>")
            .Append("body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1f2328;background:#fff;line-height:1.5}")
            .Append("table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.4rem;text-align:left;vertical-align:top}")
            .Append(".operational{background:#dafbe1}.degraded{background:#fff8c5}.partial{background:#ffebe9}.major{background:#ffcecb}.maintenance{background:#ddf4ff}")
            .Append(".overall{font-size:1.2rem;padding:.6rem;border-radius:.3rem}.ok{background:#dafbe1}.bad{background:#ffebe9}.stale{background:#fff8c5;padding:.6rem;border:1px solid #9a6700}")
            .Append(".uptime svg{width:100%;height:1.5rem}.incident{border-left:.3rem solid #cf222e;padding-left:.8rem;margin:1rem 0}")
            .Append("dt{font-weight:600}a{color:#0550ae}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}small{color:#424a53}")
            .Append("</style></head><body><header><h1>").Append(E(w.Title)).Append("</h1><nav aria-label=\"language\"><a href=\"").Append(path).Append("?lang=").Append(w.Lang == "ko" ? "en" : "ko")
            .Append("\" lang=\"").Append(w.Lang == "ko" ? "en" : "ko").Append("\">").Append(E(w.Other)).Append("</a></nav></header><main>");
    }

    private static void Foot(StringBuilder html, Words w, string lang, string path) =>
        html.Append("</main><footer><p><a href=\"/status/feed.atom\">").Append(E(w.Feed)).Append("</a> · <a href=\"/api/status\">").Append(E(w.Json)).Append("</a></p></footer></body></html>");

    public static string StateName(ComponentState state, string lang) => (state, lang) switch
    {
        (ComponentState.Operational, "ko") => "정상",
        (ComponentState.DegradedPerformance, "ko") => "성능 저하",
        (ComponentState.PartialOutage, "ko") => "부분 장애",
        (ComponentState.MajorOutage, "ko") => "전면 장애",
        (ComponentState.UnderMaintenance, "ko") => "점검 중",
        (ComponentState.Operational, _) => "Operational",
        (ComponentState.DegradedPerformance, _) => "Degraded performance",
        (ComponentState.PartialOutage, _) => "Partial outage",
        (ComponentState.MajorOutage, _) => "Major outage",
        _ => "Under maintenance",
    };

    private static string StageName(IncidentStage stage, string lang) => (stage, lang) switch
    {
        (IncidentStage.Investigating, "ko") => "조사 중",
        (IncidentStage.Identified, "ko") => "원인 파악",
        (IncidentStage.Monitoring, "ko") => "모니터링",
        (IncidentStage.Resolved, "ko") => "해결",
        _ => stage.ToString(),
    };

    private static string Css(ComponentState state) => state switch
    {
        ComponentState.Operational => "operational",
        ComponentState.DegradedPerformance => "degraded",
        ComponentState.PartialOutage => "partial",
        ComponentState.MajorOutage => "major",
        _ => "maintenance",
    };

    private static string Time(DateTimeOffset at) =>
        $"<time datetime=\"{at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}\">{at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC</time>";

    private static string Age(TimeSpan age, string lang) => lang == "ko" ? StatusCache.DurationKo(age) : StatusCache.Duration(age);

    private static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>The Atom feed: one entry per incident update, newest first.</summary>
    public static string Atom(IReadOnlyList<IncidentView> incidents, Uri origin, DateTimeOffset now)
    {
        XNamespace atom = "http://www.w3.org/2005/Atom";
        var entries = incidents.SelectMany(i => i.Updates.Select(u => (i, u))).OrderByDescending(x => x.u.At).Take(100).ToList();
        var feed = new XElement(atom + "feed",
            new XElement(atom + "id", new Uri(origin, "/status/feed.atom").AbsoluteUri),
            new XElement(atom + "title", "Haetae status"),
            new XElement(atom + "updated", XmlConvert.ToString((entries.Count > 0 ? entries[0].u.At : now).UtcDateTime, XmlDateTimeSerializationMode.Utc)),
            new XElement(atom + "link", new XAttribute("rel", "self"), new XAttribute("href", new Uri(origin, "/status/feed.atom").AbsoluteUri)),
            new XElement(atom + "author", new XElement(atom + "name", "Haetae")),
            entries.Select(x => new XElement(atom + "entry",
                new XElement(atom + "id", $"tag:haetae,2026:incident/{x.i.Id}/{x.u.Id}"),
                new XElement(atom + "title", $"{x.i.Title}: {x.u.Stage}"),
                new XElement(atom + "updated", XmlConvert.ToString(x.u.At.UtcDateTime, XmlDateTimeSerializationMode.Utc)),
                new XElement(atom + "link", new XAttribute("href", new Uri(origin, $"/status/incidents/{x.i.Id}").AbsoluteUri)),
                new XElement(atom + "content", new XAttribute("type", "text"), $"{x.u.Text}\n\n{x.u.TextKo}"))));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), feed).Declaration + "\n" + feed;
    }
}
