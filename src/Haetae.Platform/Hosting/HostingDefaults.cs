using Haetae.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Haetae.Platform.Hosting;

/// <summary>
/// What every Haetae process that serves HTTP gets, the same everywhere: the one JSON shape, problem
/// details with one exception handler, one clock, health endpoints, traces and metrics.
/// </summary>
public static class HostingDefaults
{
    /// <summary>Health checks with this tag decide readiness (/readyz); liveness (/healthz) checks none.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The name of Haetae's own traces and metrics.</summary>
    public const string TelemetryName = "Haetae";

    public static IHostApplicationBuilder AddHaetaeDefaults(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.ConfigureHttpJsonOptions(options => HaetaeJson.Configure(options.SerializerOptions));
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiProblemHandler>();
        services.TryAddSingleton(TimeProvider.System);
        // A node registers its modules' surfaces (ServiceSurfaces) after this; other processes count no service.
        services.TryAddSingleton(new ServiceSurfaces([]));
        services.AddSingleton<Traffic>();
        services.AddHealthChecks();

        // As .NET's service defaults do: requests, outgoing calls and the runtime, exported only where a collector is named.
        var telemetry = services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation().AddMeter(TelemetryName))
            .WithTracing(tracing => tracing.AddSource(TelemetryName).AddAspNetCoreInstrumentation(o => o.Filter = http => !IsHealth(http.Request.Path)).AddHttpClientInstrumentation());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Liveness (/healthz: the process answers) and readiness (/readyz: every check tagged <see cref="ReadyTag"/> passes).</summary>
    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new() { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new() { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }

    /// <summary>
    /// GET /api/sites: this node's site and every site's node, so that the web app and the console know
    /// where to go when this site is gone.
    /// </summary>
    public static WebApplication MapSitesEndpoint(this WebApplication app)
    {
        app.MapGet("/api/sites", (NodeOptions node) => TypedResults.Ok(new SitesView(
            node.Site, [.. node.Sites.Select(s => new SiteLink(s.Name, s.NodeUri.ToString().TrimEnd('/')))])))
            .WithTags("platform").AddEndpointFilter(NoStoreAsync);
        return app;
    }

    public static bool IsHealth(PathString path) => path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");

    /// <summary>
    /// Declares in the OpenAPI document the refusals every API operation can give, as ProblemDetails: a bad
    /// request, no or a dead token, not allowed, not found, conflict, too many, and 503 (retry with the
    /// same request id).
    /// </summary>
    public static TBuilder ProducesStandardProblems<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    /// <summary>An endpoint filter: the answer is for its caller alone, so no cache on the way may keep or share it.</summary>
    public static async ValueTask<object?> NoStoreAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        context.HttpContext.Response.Headers.CacheControl = "no-store";
        return await next(context);
    }
}

/// <summary>This node's site and every site's node (GET /api/sites).</summary>
public sealed record SitesView(string Site, IReadOnlyList<SiteLink> Sites);

public sealed record SiteLink(string Name, string Url);
