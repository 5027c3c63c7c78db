using Haetae.Contracts;
using Haetae.Platform;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;

namespace Haetae.Pay;

/// <summary>Pay: for now the double-entry ledger every wallet, transfer and payment will be written to.</summary>
public sealed class PayModule : IHaetaeModule
{
    public string Name => "pay";

    public IReadOnlyList<Asset> Assets { get; } = [Ledger.Asset];

    public void AddServices(IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton(sp => new Ledger(sp.GetRequiredService<INatsConnection>(), sp.GetRequiredService<TimeProvider>()));

    public void MapEndpoints(IEndpointRouteBuilder app)
    {
    }
}
