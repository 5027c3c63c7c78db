using Haetae.Platform.Store;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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
        services.AddSingleton<OpenIddictKeys>();
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>>(sp => sp.GetRequiredService<OpenIddictKeys>());
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddictServerOptions>>(sp => sp.GetRequiredService<OpenIddictKeys>());
        services.AddHttpContextAccessor();
        services.AddSingleton<TokenStore>();
        services.AddSingleton<ClientRegistry>();
        services.AddExceptionHandler<LoginOutageHandler>();

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
}
