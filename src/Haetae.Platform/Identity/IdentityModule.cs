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
        [.. Contracts.Assets.Buckets.Where(b => b.Bucket is Contracts.Assets.AccountsBucket or Contracts.Assets.SigningKeysBucket or Contracts.Assets.SessionsBucket)];

    public void AddServices(IServiceCollection services, IConfiguration configuration) => services.AddHaetaeIdentity();

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapIdentityApi();
}
