using Haetae.Platform.Store;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Login;

/// <summary>
/// The OpenID Connect provider every site runs: OpenIddict does the protocol and the token crypto; its
/// four stores, its keys and the cookie's key ring live in replicated buckets, so any site can finish
/// what another began, and a site's loss costs at most an election.
/// </summary>
public static partial class LoginProvider
{
    /// <summary>The provider's own sign-in cookie: the person signed in at this provider, never seen by clients.</summary>
    public const string CookieScheme = "HaetaeLogin";

    public const string AuthorizePath = "/connect/authorize";
    public const string SignInPath = "/login";

    public static IServiceCollection AddLogin(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection("Haetae:Login").Get<LoginOptions>() ?? new LoginOptions();
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton(options.KeyPolicy);
        services.AddSingleton<LoginKeyRing>();
        services.AddHostedService(sp => sp.GetRequiredService<LoginKeyRing>());
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>>(sp => sp.GetRequiredService<LoginKeyRing>());
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddictServerOptions>>(sp => sp.GetRequiredService<LoginKeyRing>());
        services.AddHttpContextAccessor();
        services.AddSingleton<TokenStore>();
        services.AddSingleton<ClientRegistry>();
        services.AddExceptionHandler<LoginOutageHandler>();
        services.AddHealthChecks().AddCheck<LoginKeysReadyCheck>("login-keys", tags: ["ready"]);

        services.AddDataProtection().SetApplicationName("haetae-login");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp =>
            new ConfigureOptions<KeyManagementOptions>(o => o.XmlRepository = new BucketXmlRepository(sp.GetRequiredService<Buckets>())));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "haetae.login.af";
            o.FormFieldName = LoginPages.AntiforgeryField;
        });

        services.AddAuthentication().AddCookie(CookieScheme, o =>
        {
            o.Cookie.Name = "haetae.login";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.LoginPath = SignInPath;
            o.ExpireTimeSpan = TimeSpan.FromHours(12);
            o.SlidingExpiration = false;
        });

        services.AddOpenIddict()
            .AddCore(core => core.UseReplicatedStores())
            .AddServer(server =>
            {
                server.SetIssuer(options.Issuer)
                    .SetAuthorizationEndpointUris(AuthorizePath)
                    .SetTokenEndpointUris("/connect/token")
                    .SetUserInfoEndpointUris("/connect/userinfo")
                    .SetRevocationEndpointUris("/connect/revoke")
                    .SetIntrospectionEndpointUris("/connect/introspect")
                    .SetEndSessionEndpointUris("/connect/endsession")
                    .SetJsonWebKeySetEndpointUris("/.well-known/jwks")
                    .AllowAuthorizationCodeFlow()
                    .AllowRefreshTokenFlow()
                    .AllowClientCredentialsFlow()
                    .RequireProofKeyForCodeExchange()
                    .RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess)
                    .SetAccessTokenLifetime(TimeSpan.FromHours(1))
                    .SetIdentityTokenLifetime(TimeSpan.FromMinutes(20))
                    .SetAuthorizationCodeLifetime(TimeSpan.FromMinutes(5))
                    .SetRefreshTokenLifetime(TimeSpan.FromDays(14))
                    // A refresh token is good once: any reuse is treated as theft and revokes its chain.
                    .SetRefreshTokenReuseLeeway(null)
                    // Third parties validate access tokens themselves: plain signed JWTs (at+jwt).
                    .DisableAccessTokenEncryption();
                // S256 only: "plain" would let whoever sees the authorization request redeem the code.
                server.Configure(o => o.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain));
                server.AddEventHandler(PointDiscoveryAtThisSite.Descriptor);
                server.AddEventHandler(RejectConcurrentRefresh.Descriptor);
                server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough()
                    // Sites listen on loopback over plain HTTP here; a real deployment terminates TLS in front.
                    .DisableTransportSecurityRequirement();
            });
        return services;
    }

    /// <summary>OpenIddict's entities and stores on the replicated buckets, and the token manager that does not swallow failed revocations.</summary>
    internal static OpenIddictCoreBuilder UseReplicatedStores(this OpenIddictCoreBuilder core)
    {
        core.SetDefaultApplicationEntity<LoginApplication>()
            .SetDefaultAuthorizationEntity<LoginAuthorization>()
            .SetDefaultScopeEntity<LoginScope>()
            .SetDefaultTokenEntity<LoginToken>();
        core.ReplaceApplicationStore<LoginApplication, ApplicationStore>(ServiceLifetime.Singleton);
        core.ReplaceAuthorizationStore<LoginAuthorization, AuthorizationStore>(ServiceLifetime.Singleton);
        core.ReplaceScopeStore<LoginScope, ScopeStore>(ServiceLifetime.Singleton);
        core.ReplaceTokenStore<LoginToken, TokenStore>(ServiceLifetime.Singleton);
        return core.ReplaceTokenManager<LoginToken, LoginTokenManager>();
    }

    /// <summary>
    /// Every site advertises the same issuer but its own endpoints, so that a client that found this site
    /// stays on it for the rest of a sign-in, and one that finds another site after a fire goes there.
    /// </summary>
    private sealed class PointDiscoveryAtThisSite : IOpenIddictServerHandler<OpenIddictServerEvents.HandleConfigurationRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
            OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.HandleConfigurationRequestContext>()
                .UseSingletonHandler<PointDiscoveryAtThisSite>()
                .SetOrder(int.MaxValue - 100_000)
                .SetType(OpenIddictServerHandlerType.Custom)
                .Build();

        public ValueTask HandleAsync(OpenIddictServerEvents.HandleConfigurationRequestContext context)
        {
            var request = context.Transaction.GetHttpRequest()!;
            var site = new Uri($"{request.Scheme}://{request.Host}{request.PathBase}/");
            Uri? Here(Uri? endpoint) => endpoint is null ? null : new Uri(site, endpoint.PathAndQuery.TrimStart('/'));
            context.AuthorizationEndpoint = Here(context.AuthorizationEndpoint);
            context.TokenEndpoint = Here(context.TokenEndpoint);
            context.UserInfoEndpoint = Here(context.UserInfoEndpoint);
            context.RevocationEndpoint = Here(context.RevocationEndpoint);
            context.IntrospectionEndpoint = Here(context.IntrospectionEndpoint);
            context.EndSessionEndpoint = Here(context.EndSessionEndpoint);
            context.JsonWebKeySetEndpoint = Here(context.JsonWebKeySetEndpoint);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// A refresh token redeemed at two sites at the same moment is used twice. OpenIddict lets the loser
/// of that race through (it allows concurrent refreshes from one client); the promise here is that a
/// reused refresh token is refused and revokes its chain, so the loser is refused and the chain,
/// including what the winner was just issued, is revoked.
/// </summary>
internal sealed class RejectConcurrentRefresh(IOpenIddictTokenManager tokens) : IOpenIddictServerHandler<OpenIddictServerEvents.ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.ProcessSignInContext>()
            .UseScopedHandler<RejectConcurrentRefresh>()
            .SetOrder(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(OpenIddictServerEvents.ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || !context.Request.IsRefreshTokenGrantType() ||
            context.Transaction.GetHttpRequest()?.HttpContext.Items[TokenStore.LostRedemption] is not string authorizationId)
        {
            return;
        }

        if (authorizationId.Length > 0)
        {
            await foreach (var token in tokens.FindByAuthorizationIdAsync(authorizationId))
            {
                await tokens.TryRevokeAsync(token);
            }
        }

        context.Reject(Errors.InvalidGrant, "The refresh token was used twice at the same moment; its chain is revoked.");
    }
}

/// <summary>
/// OpenIddict's token manager, except that a revocation that cannot be stored is an error, not a
/// warning: the stock manager logs and returns false, and on a replayed code that result is ignored,
/// so the stolen chain would stay valid without anyone knowing. Here the request fails (503) and the
/// failure is logged as an error naming the token.
/// </summary>
internal sealed partial class LoginTokenManager(
    IOpenIddictTokenCache<LoginToken> cache, ILogger<OpenIddictTokenManager<LoginToken>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options, IOpenIddictTokenStore<LoginToken> store)
    : OpenIddictTokenManager<LoginToken>(cache, logger, options, store)
{
    public override async ValueTask<bool> TryRevokeAsync(LoginToken token, CancellationToken cancellationToken = default)
    {
        if (token.Status == Statuses.Revoked)
        {
            return true;
        }

        try
        {
            await Store.SetStatusAsync(token, Statuses.Revoked, cancellationToken);
            await UpdateAsync(token, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRevocationFailed(Logger, token.Id, e.Message);
            throw new RevocationFailedException(token.Id, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Revoking login token {TokenId} failed; it stays valid until it expires or a revocation succeeds: {Reason}")]
    private static partial void LogRevocationFailed(ILogger logger, string? tokenId, string reason);
}

/// <summary>A token that should be revoked could not be.</summary>
internal sealed class RevocationFailedException(string? tokenId, Exception inner)
    : Exception($"Token {tokenId} could not be revoked.", inner);

/// <summary>
/// The store did not answer within an election's length, or a revocation could not be stored: the
/// OAuth endpoints answer 503 with the standard "temporarily_unavailable" error, so that clients retry.
/// </summary>
internal sealed class LoginOutageHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var outage = exception is RevocationFailedException or NATS.Client.Core.NatsException or TimeoutException or OpenIddictExceptions.ConcurrencyException;
        if (!outage || !(httpContext.Request.Path.StartsWithSegments("/connect") || httpContext.Request.Path.StartsWithSegments(LoginProvider.SignInPath)))
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "1";
        await httpContext.Response.WriteAsJsonAsync(
            new Dictionary<string, string>
            {
                [Parameters.Error] = Errors.TemporarilyUnavailable,
                [Parameters.ErrorDescription] = exception is RevocationFailedException
                    ? "A token could not be revoked; nothing was issued. Retry shortly."
                    : "The login store did not answer in time. Retry shortly.",
            },
            cancellationToken);
        return true;
    }
}

/// <summary>Ready once the login keys are loaded: before that the node could neither sign nor check a login token.</summary>
internal sealed class LoginKeysReadyCheck(LoginKeyRing ring) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(ring.IsLoaded
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy()
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("Login keys are not loaded yet."));
}
