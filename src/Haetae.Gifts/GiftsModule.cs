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

namespace Haetae.Gifts;

/// <summary>Gift vouchers: shops' catalogs, vouchers bought for friends in a chat and paid through pay, redemption once at a till, validity moved by outages.</summary>
public sealed class GiftsModule : IHaetaeModule
{
    /// <summary>First responses to gifts' writes, by person and request id.</summary>
    public const string RequestsBucket = "gift-requests";

    public string Name => "gifts";

    public IReadOnlyList<Asset> Assets { get; } = [new KvAsset(GiftKeys.Bucket, History: 1), KeptResponses.Asset(RequestsBucket)];

    public IReadOnlyList<ServiceSurface> Surfaces { get; } =
        [new(Vouchers.Service, "Gift vouchers", "선물하기", ["/api/gifts"], ["KV_" + GiftKeys.Bucket, "KV_" + RequestsBucket])];

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<GiftStore>();
        services.AddSingleton<Catalog>();
        services.AddSingleton<Vouchers>();
        services.AddSingleton<Redemptions>();
        services.AddSingleton(sp => new GiftRequests(new KeptResponses(sp.GetRequiredService<Buckets>(), RequestsBucket, sp.GetRequiredService<TimeProvider>())));
        services.AddHostedService<GiftsReconciler>();
    }

    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        var gifts = app.MapGroup("/api/gifts").WithTags("gifts").AddEndpointFilter(HostingDefaults.NoStoreAsync).ProducesStandardProblems().RequireAuthorization();

        // The catalog: shops' keepers add and change products; everyone sees what is on sale.
        gifts.MapGet("/products", async (string? merchantId, Catalog catalog, CancellationToken ct) => TypedResults.Ok(await catalog.ListAsync(merchantId, ct)));
        gifts.MapGet("/products/{id}", async (string id, Catalog catalog, CancellationToken ct) => TypedResults.Ok(await catalog.GetAsync(id, ct)));
        gifts.MapPost("/products", (HttpContext http, NewProductRequest request, Catalog catalog, GiftRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => (StatusCodes.Status201Created, await catalog.AddAsync(Caller(http), request, id, http.RequestAborted))));
        gifts.MapPatch("/products/{id}", async (HttpContext http, string id, ProductChange change, Catalog catalog, CancellationToken ct) =>
            TypedResults.Ok(await catalog.ChangeAsync(Caller(http), id, change, ct)));

        // Vouchers: bought for a friend (in a chat), listed for their holder with the code to show at the shop.
        gifts.MapPost("/vouchers", (HttpContext http, BuyGiftRequest request, Vouchers vouchers, GiftRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => (StatusCodes.Status201Created, await vouchers.BuyAsync(Caller(http), request, id, http.RequestAborted))));
        gifts.MapGet("/vouchers", async (HttpContext http, Vouchers vouchers, CancellationToken ct) => TypedResults.Ok(await vouchers.MineAsync(Caller(http), ct)));
        gifts.MapGet("/vouchers/{id}", async (HttpContext http, string id, Vouchers vouchers, CancellationToken ct) => TypedResults.Ok(await vouchers.GetAsync(Caller(http), id, ct)));

        // The till: claim the voucher by its code, then complete (the shop is paid) or release.
        gifts.MapPost("/redemptions", (HttpContext http, RedeemRequest request, Redemptions redemptions, GiftRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => (StatusCodes.Status201Created, await redemptions.StartAsync(Caller(http), request, id, http.RequestAborted))));
        gifts.MapGet("/redemptions/{id}", async (HttpContext http, string id, Redemptions redemptions, CancellationToken ct) => TypedResults.Ok(await redemptions.GetAsync(Caller(http), id, ct)));
        gifts.MapPost("/redemptions/{id}/complete", async (HttpContext http, string id, Redemptions redemptions, CancellationToken ct) =>
            TypedResults.Ok(await redemptions.CompleteAsync(Caller(http), id, ct)));
        gifts.MapPost("/redemptions/{id}/release", async (HttpContext http, string id, Redemptions redemptions, CancellationToken ct) =>
            TypedResults.Ok(await redemptions.ReleaseAsync(Caller(http), id, ct)));
    }

    private static string Caller(HttpContext http) => IdentityServices.CallerId(http);
}

/// <summary>Gifts' kept responses (a type of its own, so that each module's store is its own service).</summary>
public sealed record GiftRequests(KeptResponses Kept);
