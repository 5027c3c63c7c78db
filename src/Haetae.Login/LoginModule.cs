using Haetae.Contracts;
using Haetae.Platform;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Login;

/// <summary>The login provider other apps rely on (OpenID Connect), and its admin API for client apps.</summary>
public sealed class LoginModule : IHaetaeModule
{
    public string Name => "login";

    public IReadOnlyList<Asset> Assets { get; } =
    [
        new KvAsset(Contracts.Assets.LoginClientsBucket, History: 1),
        new KvAsset(Contracts.Assets.LoginGrantsBucket, History: 1),
        new KvAsset(Contracts.Assets.LoginTokensBucket, History: 1, MaxAge: Contracts.Assets.LoginTokenRetention),
    ];

    /// <summary>Signing in, here and at the apps that rely on Haetae's login (the kit's accounts and sessions are part of it).</summary>
    public IReadOnlyList<ServiceSurface> Surfaces { get; } =
    [
        new("login", "Login", "로그인", ["/connect", "/login", "/api/accounts", "/api/sessions", "/api/me"],
            [.. new[] { Contracts.Assets.LoginClientsBucket, Contracts.Assets.LoginGrantsBucket, Contracts.Assets.LoginTokensBucket, Contracts.Assets.AccountsBucket, Contracts.Assets.SigningKeysBucket, Contracts.Assets.SessionsBucket }.Select(b => "KV_" + b)]),
    ];

    public void AddServices(IServiceCollection services, IConfiguration configuration) => services.AddLogin(configuration);

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapLogin();

    /// <summary>Login requests (and OpenIddict's request filter, which sees every request) need the login keys.</summary>
    public void UseMiddleware(IApplicationBuilder app) => app.Use(LoginProvider.WaitForKeysAsync);
}
