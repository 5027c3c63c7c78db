using Haetae.Contracts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Platform.Identity;

/// <summary>Accounts, sessions and the token key ring, as a module (every other module relies on it).</summary>
public sealed class IdentityModule : IHaetaeModule
{
    public string Name => "identity";

    public IReadOnlyList<Asset> Assets { get; } =
    [
        new KvAsset(Contracts.Assets.AccountsBucket, History: 1),
        new KvAsset(Contracts.Assets.SigningKeysBucket, History: 5),
        new KvAsset(Contracts.Assets.SessionsBucket, History: 1, MaxAge: Contracts.Assets.SessionLifetime),
    ];

    public void AddServices(IServiceCollection services, IConfiguration configuration) => services.AddHaetaeIdentity();

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapIdentityApi();
}
