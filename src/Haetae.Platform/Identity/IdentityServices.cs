using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Haetae.Platform.Identity;

/// <summary>
/// Identity for every module: accounts, sessions and their revocation, and the one key ring that signs
/// every token (the API's access tokens here, the login provider's tokens there). A module's endpoints ask for <see cref="CallerId"/> and need nothing else.
/// </summary>
public static class IdentityServices
{
    public static IServiceCollection AddHaetaeIdentity(this IServiceCollection services)
    {
        services.AddOptions<KeyRingOptions>().BindConfiguration("Haetae:Keys")
            .Validate(o => o.Policy.IsValid, "Haetae:Keys needs 0 < PublishAhead < RotateEvery and KeepRetired > 0.").ValidateOnStart();
        services.AddSingleton<KeyRing>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyRing>());
        services.AddSingleton<Accounts>();
        services.AddSingleton<HotCaches>();
        services.AddHostedService(sp => sp.GetRequiredService<HotCaches>());
        services.AddHealthChecks().AddCheck<KeyRing>("keys", tags: [HostingDefaults.ReadyTag]);
        services.AddAuthorization();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<KeyRing, Accounts>((options, ring, accounts) =>
        {
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = Accounts.Issuer,
                ValidAudience = Accounts.Audience,
                ValidAlgorithms = [KeyRing.Algorithm],
                IssuerSigningKeyResolver = (_, _, kid, _) => ring.Resolve(kid),
                NameClaimType = "sub",
                ClockSkew = TimeSpan.FromSeconds(30),
            };
            options.Events = new JwtBearerEvents
            {
                // Browsers cannot set headers on a WebSocket: the realtime endpoint takes the token as a query parameter.
                OnMessageReceived = context =>
                {
                    if (context.HttpContext.WebSockets.IsWebSocketRequest && context.Request.Query["access_token"] is [{ Length: > 0 } token])
                    {
                        context.Token = token;
                    }

                    return Task.CompletedTask;
                },
                OnTokenValidated = async context =>
                {
                    var session = context.Principal?.FindFirst(Accounts.SessionClaim)?.Value;
                    if (session is null || await accounts.IsRevokedAsync(session, context.HttpContext.RequestAborted))
                    {
                        context.Fail("signed out");
                    }
                },
            };
        });
        return services;
    }

    /// <summary>Sign-up, sign-in, sign-out and "who am I" under /api.</summary>
    public static IEndpointRouteBuilder MapIdentityApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("identity").AddEndpointFilter(HostingDefaults.NoStoreAsync).ProducesStandardProblems();
        api.MapPost("/accounts", async Task<Created<UserView>> (SignUpRequest request, HttpRequest http, Accounts accounts, CancellationToken ct) =>
        {
            var created = await accounts.SignUpAsync(request, RequestIds.Of(http), ct);
            return TypedResults.Created($"/api/users/{created.Id}", created);
        });
        api.MapPost("/sessions", async (SignInRequest request, Accounts accounts, CancellationToken ct) =>
            TypedResults.Ok(await accounts.SignInAsync(request, ct)));
        var user = api.MapGroup("").RequireAuthorization();
        user.MapDelete("/sessions/current", async (HttpContext http, Accounts accounts, CancellationToken ct) =>
        {
            await accounts.SignOutAsync(http.User.FindFirst(Accounts.SessionClaim)!.Value, ct);
            return TypedResults.NoContent();
        });
        user.MapGet("/me", async Task<Results<Ok<UserView>, NotFound>> (HttpContext http, Accounts accounts, CancellationToken ct) =>
            await accounts.FindAsync(CallerId(http), ct) is { } me ? TypedResults.Ok(me.DefaultView) : TypedResults.NotFound());
        return app;
    }

    /// <summary>The signed-in person's user id (endpoints that require authorization only).</summary>
    public static string CallerId(HttpContext http) =>
        http.User.FindFirst("sub")?.Value ?? throw new ApiProblem(StatusCodes.Status401Unauthorized, "Unauthorized");
}
