using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Haetae.Operations;

/// <summary>The console's API: the platform as this node sees it, and (local platforms only) evacuate, fire and rebuild.</summary>
internal static class ConsoleApi
{
    /// <summary>What the console's buttons ask the local platform to do to one site.</summary>
    public static readonly IReadOnlySet<string> Actions = new HashSet<string>(StringComparer.Ordinal) { "evacuate", "fire", "rebuild" };

    public static void MapConsoleApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("console").AddEndpointFilter(HostingDefaults.NoStoreAsync).ProducesStandardProblems();

        api.MapGet("/console", async (NodeOptions node, ConsoleWatch watch, Traffic counters, CancellationToken ct) =>
            TypedResults.Ok(ConsoleViews.Of(node, watch.Latest, watch.LatestAt, await watch.TryReadEventsAsync(ct), counters)));

        api.MapPost("/console/sites/{site}/{action}", Accepted (string site, string action, NodeOptions node, ILogger<ConsoleWatch> log) =>
        {
            var socket = node.ControlSocket
                ?? throw ApiProblem.NotFound("evacuate, fire and rebuild are offered only by a local platform started with ./haetae up");
            if (!Actions.Contains(action))
            {
                throw ApiProblem.NotFound("the actions are evacuate, fire and rebuild");
            }

            if (node.Sites.All(s => s.Name != site))
            {
                throw ApiProblem.NotFound($"no site '{site}'");
            }

            // A rebuild takes until full redundancy, and a fire may burn this very node: answer now, act after.
            _ = Task.Run(async () =>
            {
                try
                {
                    await ControlClient.SendAsync(socket, new ControlRequest(action, site), CancellationToken.None);
                }
                catch (PlatformException e)
                {
                    log.LogWarning("Console {Action} of {Site} refused: {Reason}", action, site, e.Message);
                }
            });
            return TypedResults.Accepted((string?)null);
        }).DisableAntiforgery();
    }
}
