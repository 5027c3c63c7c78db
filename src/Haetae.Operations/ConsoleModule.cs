using Haetae.Contracts;
using Haetae.Platform;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Operations;

/// <summary>The operations console: the platform as this node sees it, and the events every site shares.</summary>
public sealed class ConsoleModule : IHaetaeModule
{
    public string Name => "console";

    public IReadOnlyList<Asset> Assets { get; } = [new KvAsset(Contracts.Assets.ConsoleBucket, History: 1)];

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<ConsoleWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<ConsoleWatch>());
    }

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapConsoleApi();
}
