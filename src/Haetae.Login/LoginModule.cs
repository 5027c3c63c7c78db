using Haetae.Contracts;
using Haetae.Platform;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Login;

/// <summary>The login provider other apps rely on (OpenID Connect), and its admin API for client apps.</summary>
public sealed class LoginModule : IHaetaeModule
{
    public string Name => "login";

    public IReadOnlyList<Asset> Assets { get; } =
        [.. Contracts.Assets.Buckets.Where(b => b.Bucket is Contracts.Assets.LoginClientsBucket or Contracts.Assets.LoginGrantsBucket or Contracts.Assets.LoginTokensBucket)];

    public void AddServices(IServiceCollection services, IConfiguration configuration) => services.AddLogin(configuration);

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapLogin();
}
