using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;

namespace Haetae.Pay;

/// <summary>Pay: for now the double-entry ledger every wallet, transfer and payment will be written to, and its audit.</summary>
public sealed class PayModule : IHaetaeModule
{
    public string Name => "pay";

    public IReadOnlyList<Asset> Assets { get; } = [Ledger.Asset];

    public void AddServices(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton(sp => new Ledger(sp.GetRequiredService<INatsConnection>(), sp.GetRequiredService<TimeProvider>()));

    /// <summary>The operator's audit (admin key): the whole ledger read and checked, as `haetae pay audit` prints it.</summary>
    public void MapEndpoints(IEndpointRouteBuilder app) =>
        app.MapGroup("/admin/pay").AddEndpointFilter(AdminKey.RequireAsync).WithTags("pay").ProducesStandardProblems()
            .MapGet("/audit", async (Ledger ledger, CancellationToken ct) => TypedResults.Ok(await ledger.AuditAsync(ct)));
}
