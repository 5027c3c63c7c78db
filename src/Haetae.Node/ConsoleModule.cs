using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Monitoring;

namespace Haetae.Node;

/// <summary>The console's API: the platform as this node sees it, and (local platforms only) fire and rebuild.</summary>
internal static class ConsoleApi
{
    public static void MapConsoleApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/sites", (NodeOptions node) => TypedResults.Ok(new
        {
            site = node.Site,
            sites = node.Sites.Select(s => new { name = s.Name, url = s.NodeUri.ToString().TrimEnd('/') }),
        }));

        app.MapGet("/api/console", async (NodeOptions node, ConsoleWatch watch, RequestCounters counters, HttpContext http, CancellationToken ct) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            var status = watch.Latest;
            IReadOnlyList<ConsoleEvent> events;
            try
            {
                events = await watch.EventsAsync(ct);
            }
            catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException)
            {
                // An election in the console bucket: the page keeps the events it has.
                events = [];
            }

            return TypedResults.Ok(new ConsoleView(
                node.Site,
                watch.LatestAt,
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
                node.ControlSocket is not null));
        });

        app.MapPost("/api/console/sites/{site}/{action}", (string site, string action, NodeOptions node, ILogger<ConsoleWatch> log) =>
        {
            if (node.ControlSocket is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No controls", detail: "evacuate, fire and rebuild are offered only by a local platform started with ./haetae up");
            }

            if (action is not ("evacuate" or "fire" or "rebuild"))
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "the actions are evacuate, fire and rebuild");
            }

            if (node.Sites.All(s => s.Name != site))
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"no site '{site}'");
            }

            // A rebuild takes until full redundancy, and a fire may burn this very node: answer now, act after.
            _ = Task.Run(async () =>
            {
                try
                {
                    await ControlClient.SendAsync(node.ControlSocket, new ControlRequest(action, site), CancellationToken.None);
                }
                catch (PlatformException e)
                {
                    log.LogWarning("Console {Action} of {Site} refused: {Reason}", action, site, e.Message);
                }
            });
            return Results.Accepted();
        }).DisableAntiforgery();
    }
}

/// <summary>The operations console: the platform as this node sees it, and the events every site shares.</summary>
internal sealed class ConsoleModule : IHaetaeModule
{
    public string Name => "console";

    public IReadOnlyList<Asset> Assets { get; } = [.. Haetae.Contracts.Assets.Buckets.Where(b => b.Bucket == Haetae.Contracts.Assets.ConsoleBucket)];

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<RequestCounters>();
        services.AddSingleton<ConsoleWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<ConsoleWatch>());
    }

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapConsoleApi();
}
