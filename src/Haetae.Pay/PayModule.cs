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
using NATS.Client.Core;

namespace Haetae.Pay;

/// <summary>Pay: wallets on a double-entry ledger, top-ups and withdrawals through the bank, money for friends, and the ledger's audit.</summary>
public sealed class PayModule : IHaetaeModule
{
    /// <summary>First responses to pay's writes, by person and request id (Stripe's rule).</summary>
    public const string RequestsBucket = "pay-requests";

    public string Name => "pay";

    public IReadOnlyList<Asset> Assets { get; } =
        [Ledger.Asset, new KvAsset(Wallets.TasksBucket, History: 1), new KvAsset(Merchants.Bucket, History: 1), KeptResponses.Asset(RequestsBucket)];

    public IReadOnlyList<ServiceSurface> Surfaces { get; } =
    [
        new("pay", "Pay", "페이", ["/api/pay", "/admin/pay"],
            [Ledger.StreamName, .. new[] { Wallets.TasksBucket, Merchants.Bucket, RequestsBucket }.Select(b => "KV_" + b)]),
    ];

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(sp => new Ledger(sp.GetRequiredService<INatsConnection>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(configuration.GetSection("Haetae:Pay:Bank").Get<BankOptions>() ?? new BankOptions());
        services.AddHttpClient<BankClient>();
        services.AddSingleton<Wallets>();
        services.AddSingleton<Merchants>();
        services.AddSingleton<IPayments, Payments>();
        services.AddSingleton(sp => new PayRequests(new KeptResponses(sp.GetRequiredService<Buckets>(), RequestsBucket, sp.GetRequiredService<TimeProvider>())));
        services.AddHostedService<PayReconciler>();
        services.AddSingleton<IAcknowledgedWritesCheck, PayAuditCheck>();
    }

    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        // The operator's audit (admin key): the whole ledger read and checked, as `haetae pay audit` prints it.
        app.MapGroup("/admin/pay").AddEndpointFilter(AdminKey.RequireAsync).WithTags("pay").ProducesStandardProblems()
            .MapGet("/audit", async (Ledger ledger, CancellationToken ct) => TypedResults.Ok(await ledger.AuditAsync(ct)));

        var pay = app.MapGroup("/api/pay").WithTags("pay").AddEndpointFilter(HostingDefaults.NoStoreAsync).ProducesStandardProblems().RequireAuthorization();
        pay.MapGet("/wallet", async (HttpContext http, Wallets wallets, CancellationToken ct) => TypedResults.Ok(await wallets.WalletAsync(Caller(http), ct)));
        pay.MapGet("/history", async (HttpContext http, Wallets wallets, string? before, int? limit, CancellationToken ct) =>
            TypedResults.Ok(await wallets.HistoryAsync(Caller(http), before, limit, ct)));

        // A move the bank has not answered yet is a 202, and not kept: a retry asks the bank again.
        pay.MapPost("/topups", (HttpContext http, BankRequest request, Wallets wallets, PayRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => Moved(await wallets.TopUpAsync(Caller(http), request, id, http.RequestAborted))));
        pay.MapPost("/withdrawals", (HttpContext http, BankRequest request, Wallets wallets, PayRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => Moved(await wallets.WithdrawAsync(Caller(http), request, id, http.RequestAborted))));
        pay.MapGet("/moves/{id}", async (HttpContext http, string id, Wallets wallets, CancellationToken ct) => TypedResults.Ok(await wallets.MoveAsync(Caller(http), id, ct)));

        pay.MapPost("/envelopes", (HttpContext http, SendMoneyRequest request, Wallets wallets, PayRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => (StatusCodes.Status201Created, await wallets.SendAsync(Caller(http), request, id, http.RequestAborted))));
        pay.MapGet("/envelopes/{id}", async (HttpContext http, string id, Wallets wallets, CancellationToken ct) => TypedResults.Ok(await wallets.EnvelopeAsync(Caller(http), id, ct)));
        pay.MapPost("/envelopes/{id}/accept", async (HttpContext http, string id, Wallets wallets, CancellationToken ct) => TypedResults.Ok(await wallets.AcceptAsync(Caller(http), id, ct)));
        pay.MapPost("/envelopes/{id}/decline", async (HttpContext http, string id, Wallets wallets, CancellationToken ct) => TypedResults.Ok(await wallets.DeclineAsync(Caller(http), id, ct)));

        // Shops: the till (the point-of-sale page) asks for a payment and shows its code; the payer looks it
        // up and approves it in the app; the till captures all or part of it, voids it, or refunds it.
        pay.MapPost("/merchants", (HttpContext http, OpenMerchantRequest request, Merchants merchants, PayRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => (StatusCodes.Status201Created, await merchants.OpenAsync(Caller(http), request, id, http.RequestAborted))));
        pay.MapGet("/merchants", async (HttpContext http, Merchants merchants, CancellationToken ct) => TypedResults.Ok(await merchants.MineAsync(Caller(http), ct)));
        pay.MapPost("/merchants/{merchantId}/charges", (HttpContext http, string merchantId, ChargeRequest request, Merchants merchants, PayRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async id => (StatusCodes.Status201Created, await merchants.ChargeAsync(Caller(http), merchantId, request, id, http.RequestAborted))));
        pay.MapGet("/charges/{id}", async (HttpContext http, string id, Merchants merchants, CancellationToken ct) => TypedResults.Ok(await merchants.ChargeViewAsync(Caller(http), id, ct)));
        pay.MapGet("/codes/{code}", async (HttpContext http, string code, Merchants merchants, CancellationToken ct) => TypedResults.Ok(await merchants.ByCodeAsync(Caller(http), code, ct)));
        pay.MapPost("/codes/{code}/approve", async (HttpContext http, string code, Merchants merchants, CancellationToken ct) => TypedResults.Ok(await merchants.ApproveAsync(Caller(http), code, ct)));
        pay.MapPost("/charges/{id}/capture", async (HttpContext http, string id, CaptureRequest request, Merchants merchants, CancellationToken ct) =>
            TypedResults.Ok(await merchants.CaptureAsync(Caller(http), id, request, ct)));
        pay.MapPost("/charges/{id}/void", async (HttpContext http, string id, Merchants merchants, CancellationToken ct) => TypedResults.Ok(await merchants.VoidAsync(Caller(http), id, ct)));
        pay.MapPost("/charges/{id}/refunds", (HttpContext http, string id, RefundRequest request, Merchants merchants, PayRequests requests) =>
            requests.Kept.OnceAsync(http, Caller(http), request, async rid => (StatusCodes.Status200OK, await merchants.RefundAsync(Caller(http), id, request, rid, http.RequestAborted))));
    }

    private static (int, BankMoveView) Moved(BankMoveView move) => (move.State == MoveState.Pending ? StatusCodes.Status202Accepted : StatusCodes.Status200OK, move);

    private static string Caller(HttpContext http) => IdentityServices.CallerId(http);
}

/// <summary>Pay's kept responses (a type of its own, so that each module's store is its own service).</summary>
public sealed record PayRequests(KeptResponses Kept);
