using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Rides;

/// <summary>Rides: scooters registered by their fleet, unlocked from the app, ended by the scooter's signed lock however it arrives, charged through pay.</summary>
public sealed class RidesModule : IHaetaeModule
{
    public const string RequestsBucket = "ride-requests";

    public string Name => "rides";

    public IReadOnlyList<Asset> Assets { get; } =
        [new KvAsset(RideKeys.Bucket, History: 1), new KvAsset(RideKeys.RefusalsBucket, History: 1, MaxAge: TimeSpan.FromDays(30)), KeptResponses.Asset(RequestsBucket)];

    public IReadOnlyList<ServiceSurface> Surfaces { get; } =
        [new(Rides.Service, "Scooter rides", "킥보드", ["/api/rides"], ["KV_" + RideKeys.Bucket, "KV_" + RequestsBucket])];

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(configuration.GetSection("Haetae:Rides:Fleet").Get<FleetOptions>() ?? new FleetOptions());
        services.AddHttpClient<FleetChannel>();
        services.AddSingleton<Rides>();
        services.AddSingleton(sp => new RideRequests(new KeptResponses(sp.GetRequiredService<Buckets>(), RequestsBucket, sp.GetRequiredService<TimeProvider>())));
        services.AddHostedService<RidesReconciler>();
    }

    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        // The fleet registers its scooters' keys; the operator reads what was refused (admin key).
        var admin = app.MapGroup("/admin/rides").AddEndpointFilter(AdminKey.RequireAsync).WithTags("rides").ProducesStandardProblems();
        admin.MapPost("/scooters", async (IReadOnlyList<ScooterRegistration> scooters, Rides rides, CancellationToken ct) => TypedResults.Ok(await rides.RegisterAsync(scooters, ct)));
        admin.MapGet("/refusals", async (Rides rides, CancellationToken ct) => TypedResults.Ok(await rides.RefusalsAsync(ct)));

        var api = app.MapGroup("/api/rides").WithTags("rides").AddEndpointFilter(HostingDefaults.NoStoreAsync).ProducesStandardProblems();
        // A scooter's signed lock, from its network or a rider's phone: the signature is what is trusted, not the caller.
        api.MapPost("/events", async (SignedScooterEvent signed, string? from, Rides rides, CancellationToken ct) =>
            TypedResults.Ok(await rides.AcceptAsync(signed, from ?? "scooter", ct))).AllowAnonymous();

        var riders = api.MapGroup("").RequireAuthorization();
        riders.MapGet("/scooters", async (Rides rides, CancellationToken ct) => TypedResults.Ok(await rides.ScootersAsync(ct)));
        riders.MapGet("/pricing", () => TypedResults.Ok(Rides.Pricing));
        riders.MapPost("", (HttpContext http, StartRideRequest request, Rides rides, RideRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => (StatusCodes.Status201Created, await rides.StartAsync(Caller(http), request, id, http.RequestAborted))));
        riders.MapGet("", async (HttpContext http, Rides rides, CancellationToken ct) => TypedResults.Ok(await rides.MineAsync(Caller(http), ct)));
        riders.MapGet("/{id}", async (HttpContext http, string id, Rides rides, CancellationToken ct) => TypedResults.Ok(await rides.GetAsync(Caller(http), id, ct)));
        riders.MapPost("/{id}/end", async (HttpContext http, string id, Rides rides, CancellationToken ct) => TypedResults.Ok(await rides.EndAsync(Caller(http), id, ct)));
    }

    private static string Caller(HttpContext http) => IdentityServices.CallerId(http);
}

/// <summary>Rides' kept responses.</summary>
public sealed record RideRequests(KeptResponses Kept);
