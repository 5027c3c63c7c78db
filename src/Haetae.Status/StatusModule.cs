using System.Globalization;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Status;

/// <summary>
/// Status: every service at every site computed from the platform's own signals, incidents that open and
/// close by themselves (one per cause, whichever node sees it), the public status page on every node,
/// its JSON API, Atom feed and webhooks, the notices people's devices get, and outage windows for the
/// services that need them (<see cref="IOutages"/>).
/// </summary>
public sealed class StatusModule : IHaetaeModule
{
    public string Name => "status";

    /// <summary>Incidents (incident.ID), causes (cause.KEY), heartbeats (beat.SITE), series (series.ID.SITE), maintenance, webhooks: kept, never aged out (history is years, not 90 days).</summary>
    public IReadOnlyList<Asset> Assets { get; } = [new KvAsset(StatusKeys.Bucket, History: 1)];

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<StatusCache>();
        services.AddHostedService(sp => sp.GetRequiredService<StatusCache>());
        services.AddSingleton<IOutages>(sp => sp.GetRequiredService<StatusCache>());
        services.AddSingleton<IPlatformNotices>(sp => sp.GetRequiredService<StatusCache>());
        services.AddSingleton<Incidents>();
        services.AddSingleton<StatusWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<StatusWatch>());
        services.AddSingleton<StatusViews>();
        services.AddSingleton(configuration.GetSection("Haetae:Status").Get<StatusOptions>() ?? new StatusOptions());
        // Subscribers' redirects are not followed: the address checked when subscribing is the one called.
        services.AddHttpClient(nameof(Webhooks)).ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler { AllowAutoRedirect = false });
        services.AddSingleton<Webhooks>();
        services.AddHostedService(sp => sp.GetRequiredService<Webhooks>());
    }

    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        // The page itself: plain HTML, every node, no script.
        app.MapGet("/status", (HttpContext http, StatusViews views, StatusCache cache, TimeProvider time, string? lang) =>
        {
            var language = StatusPages.Language(lang, http.Request.Headers.AcceptLanguage);
            var now = time.GetUtcNow();
            var past = cache.Incidents.Where(i => i.End is not null && now - i.End.Value < TimeSpan.FromDays(StatusPages.UptimeDays)).ToList();
            return Html(StatusPages.Index(views.Now(), views.UptimeByService(StatusPages.UptimeDays), past,
                [.. views.Services.Select(s => (s.Name, s.Title, s.TitleKo))], views.Sites, now, language));
        }).ExcludeFromDescription();
        app.MapGet("/status/incidents", (HttpContext http, StatusCache cache, string? lang) =>
            Html(StatusPages.History(cache.Incidents, StatusPages.Language(lang, http.Request.Headers.AcceptLanguage)))).ExcludeFromDescription();
        app.MapGet("/status/incidents/{id}", (HttpContext http, string id, StatusCache cache, TimeProvider time, string? lang) =>
            cache.Find(id) is { } incident
                ? Html(StatusPages.Incident(incident, time.GetUtcNow(), StatusPages.Language(lang, http.Request.Headers.AcceptLanguage)))
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"no incident '{id}'")).ExcludeFromDescription();
        app.MapGet("/status/feed.atom", (HttpContext http, StatusCache cache, NodeOptions node, TimeProvider time) =>
            Results.Text(StatusPages.Atom(cache.Incidents, Origin(http, node), time.GetUtcNow()), "application/atom+xml; charset=utf-8")).ExcludeFromDescription();
        app.MapPost("/status/subscribe", async (HttpContext http, Webhooks webhooks, string? lang, CancellationToken ct) =>
        {
            var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(ct) : null;
            var created = await webhooks.SubscribeAsync(new SubscribeRequest(form?["url"].ToString()), ct);
            return Html(StatusPages.Subscribed(created, StatusPages.Language(lang, http.Request.Headers.AcceptLanguage)), StatusCodes.Status201Created);
        }).DisableAntiforgery().ExcludeFromDescription();

        var api = app.MapGroup("/api/status").WithTags("status").AddEndpointFilter(HostingDefaults.NoStoreAsync).ProducesStandardProblems();
        api.MapGet("", (StatusViews views) => TypedResults.Ok(views.Now()));
        api.MapGet("/incidents", (StatusCache cache, int? limit) =>
            TypedResults.Ok(cache.Incidents.Take(Math.Clamp(limit ?? 50, 1, 1000)).ToList()));
        api.MapGet("/incidents/{id}", (string id, StatusCache cache) =>
            cache.Find(id) is { } incident ? Results.Ok(incident) : throw ApiProblem.NotFound($"no incident '{id}'"));
        api.MapGet("/incidents/{id}/series", async (string id, StatusCache cache, StatusViews views, Incidents incidents, CancellationToken ct) =>
            cache.Find(id) is not null ? Results.Ok(await incidents.SeriesAsync(id, views.Sites, ct)) : throw ApiProblem.NotFound($"no incident '{id}'"));
        api.MapGet("/uptime", (StatusViews views, int? days) =>
            TypedResults.Ok(views.Uptime(days is >= 1 and <= 400 ? days.Value : throw ApiProblem.BadRequest("days must be from 1 to 400"))));
        api.MapGet("/outages", async (string? service, DateTimeOffset? from, DateTimeOffset? to, IOutages outages, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(service) || from is null || to is null || to < from)
            {
                throw ApiProblem.BadRequest("service, from and to (ISO 8601, from <= to) are required");
            }

            return TypedResults.Ok(await outages.OverlappingAsync(service, from.Value, to.Value, ct));
        });
        api.MapPost("/subscriptions", async (SubscribeRequest request, Webhooks webhooks, CancellationToken ct) =>
            TypedResults.Created((string?)null, await webhooks.SubscribeAsync(request, ct))).DisableAntiforgery();
        api.MapDelete("/subscriptions/{id}", async (string id, string? secret, Webhooks webhooks, CancellationToken ct) =>
        {
            await webhooks.UnsubscribeAsync(id, secret, admin: false, ct);
            return TypedResults.NoContent();
        }).DisableAntiforgery();

        // Operators (admin key): the nodes' traffic for each other's watches, and the incident editor.
        var admin = api.MapGroup("").AddEndpointFilter(AdminKey.RequireAsync).DisableAntiforgery();
        admin.MapGet("/traffic", (Traffic traffic, NodeOptions node, IServiceProvider services, long? since) =>
            TypedResults.Ok(traffic.Report(node.Site, services.GetService<ISiteFence>(), since ?? 0)));
        admin.MapGet("/subscriptions", (Webhooks webhooks) => TypedResults.Ok(webhooks.List()));
        admin.MapPost("/incidents", async (OpenIncidentRequest request, Incidents incidents, StatusCache cache, StatusWatch watch, CancellationToken ct) =>
        {
            var opened = await incidents.OpenByHandAsync(request, watch.ComponentIds.ToHashSet(StringComparer.Ordinal), ct);
            cache.Apply(new IncidentEntry(opened, []));
            return TypedResults.Created($"/api/status/incidents/{opened.Id}", opened);
        });
        admin.MapPost("/incidents/{id}/updates", async (string id, IncidentUpdateRequest request, Incidents incidents, StatusCache cache, TimeProvider time, CancellationToken ct) =>
        {
            var text = Incidents.Text(request.Text, "text", 4000);
            var stage = request.Stage ?? IncidentStage.Identified;
            var existing = await incidents.GetAsync(id, ct) ?? throw ApiProblem.NotFound($"no incident '{id}'");
            if (existing.Incident.End is not null)
            {
                throw ApiProblem.Conflict("the incident is resolved: add a post-mortem instead");
            }

            var now = time.GetUtcNow();
            var update = new IncidentUpdate($"op-{now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}", now, stage, text, text, "operator");
            var entry = await incidents.AddUpdateAsync(id, update, ct) ?? throw ApiProblem.NotFound($"no incident '{id}'");
            if (stage == IncidentStage.Resolved)
            {
                await incidents.CloseCauseAsync(entry.Incident.Cause, id, now, ct);
            }

            cache.Apply(entry);
            return TypedResults.Ok(entry.Incident);
        });
        admin.MapPut("/incidents/{id}/postmortem", async (string id, PostmortemRequest request, Incidents incidents, StatusCache cache, CancellationToken ct) =>
        {
            var text = Incidents.Text(request.Text, "text", 50_000);
            var entry = await incidents.ChangeAsync(id, e => e with { Incident = e.Incident with { Postmortem = text } }, ct) ?? throw ApiProblem.NotFound($"no incident '{id}'");
            cache.Apply(entry);
            return TypedResults.Ok(entry.Incident);
        });
        admin.MapPost("/incidents/{id}/writes-lost", async (string id, WritesLostRequest request, Incidents incidents, StatusCache cache, TimeProvider time, CancellationToken ct) =>
        {
            var source = Incidents.Text(request.Source, "source", 100);
            if (request.Checked is not >= 0 || request.Lost is not >= 0 || request.Lost > request.Checked)
            {
                throw ApiProblem.BadRequest("checked and lost are counts, lost at most checked");
            }

            var found = new WritesLost(source, request.Checked.Value, request.Lost.Value, time.GetUtcNow());
            var entry = await incidents.ChangeAsync(id, e => e with { Incident = e.Incident with { WritesLost = [.. e.Incident.WritesLost.Where(w => w.Source != source), found] } }, ct)
                ?? throw ApiProblem.NotFound($"no incident '{id}'");
            cache.Apply(entry);
            return TypedResults.Ok(entry.Incident);
        });
        admin.MapPost("/maintenance", async (MaintenanceRequest request, StatusWatch watch, Platform.Store.Buckets buckets, TimeProvider time, CancellationToken ct) =>
        {
            var title = Incidents.Text(request.Title, "title", 200);
            if (request.From is not { } from || request.To is not { } to || to <= from || to - from > TimeSpan.FromDays(7))
            {
                throw ApiProblem.BadRequest("from and to are required, to after from, at most 7 days apart");
            }

            var components = Incidents.Components(request.Components, watch.ComponentIds.ToHashSet(StringComparer.Ordinal), required: true);
            var view = new MaintenanceView(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6)), title, from, to, components, time.GetUtcNow());
            var store = await buckets.GetAsync(StatusKeys.Bucket);
            await store.TryCreateAsync(StatusKeys.Maintenance(view.Id), view, ct);
            return TypedResults.Created((string?)null, view);
        });
        admin.MapDelete("/maintenance/{id}", async (string id, Platform.Store.Buckets buckets, CancellationToken ct) =>
        {
            var store = await buckets.GetAsync(StatusKeys.Bucket);
            if (id.Length is 0 or > 32 || !id.All(char.IsAsciiHexDigitLower) || await store.TryGetAsync(StatusKeys.Maintenance(id), ct) is null)
            {
                throw ApiProblem.NotFound($"no maintenance '{id}'");
            }

            await store.DeleteAsync(StatusKeys.Maintenance(id), ct);
            return TypedResults.NoContent();
        });
    }

    /// <summary>Where the feed's links point: the address the request came to, or this node's own when the request named none fit to use.</summary>
    private static Uri Origin(HttpContext http, NodeOptions node) =>
        http.Request.Host.HasValue && Uri.TryCreate($"{http.Request.Scheme}://{http.Request.Host}/", UriKind.Absolute, out var origin) ? origin
        : node.Sites.FirstOrDefault(s => s.Name == node.Site)?.NodeUri ?? new Uri("http://localhost/");

    private static IResult Html(string html, int status = StatusCodes.Status200OK) =>
        Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
}
