using System.Collections.Immutable;
using System.Security.Claims;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
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

    public static IEndpointRouteBuilder MapLogin(this IEndpointRouteBuilder app)
    {
        app.MapMethods(AuthorizePath, [HttpMethods.Get, HttpMethods.Post], AuthorizeAsync).DisableAntiforgery();
        app.MapPost("/connect/token", TokenAsync).DisableAntiforgery();
        app.MapMethods("/connect/userinfo", [HttpMethods.Get, HttpMethods.Post], UserInfoAsync).DisableAntiforgery();
        app.MapMethods("/connect/endsession", [HttpMethods.Get, HttpMethods.Post], (Delegate)EndSessionAsync).DisableAntiforgery();
        app.MapGet(SignInPath, (HttpContext http, IAntiforgery antiforgery, string? returnUrl) =>
            LoginPages.SignIn(http, antiforgery, SafeReturnUrl(returnUrl), error: null, login: null, StatusCodes.Status200OK));
        app.MapPost(SignInPath, SignInAsync).DisableAntiforgery();
        app.MapClientAdmin();
        return app;
    }

    /// <summary>
    /// Until the login keys are loaded (a second at start-up), OpenIddict cannot build its options, and it
    /// looks at every request: answer 503 rather than fail inside it. Health endpoints always answer.
    /// </summary>
    public static Task WaitForKeysAsync(HttpContext http, Func<Task> next)
    {
        if (http.RequestServices.GetRequiredService<LoginKeyRing>().IsLoaded || http.Request.Path.StartsWithSegments("/healthz") || http.Request.Path.StartsWithSegments("/readyz"))
        {
            return next();
        }

        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = "1";
        return Task.CompletedTask;
    }

    /// <summary>Only the provider's own authorization endpoint may be returned to after signing in (no open redirect).</summary>
    private static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is not null && returnUrl.StartsWith(AuthorizePath + "?", StringComparison.Ordinal) && !returnUrl.Contains('\\') ? returnUrl : "/";

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, Accounts accounts)
    {
        if (!http.Request.HasFormContentType)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: "the sign-in form is sent as application/x-www-form-urlencoded or multipart/form-data");
        }

        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(http.RequestAborted);
        }
        catch (Exception e) when (e is IOException or InvalidDataException && !http.RequestAborted.IsCancellationRequested)
        {
            // A multipart body cut short or with a broken boundary.
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid request", detail: $"the sign-in form could not be read: {e.Message}");
        }

        var returnUrl = SafeReturnUrl(form["returnUrl"]);
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return LoginPages.SignIn(http, antiforgery, returnUrl, "The form expired. Please sign in again.", form["login"], StatusCodes.Status400BadRequest);
        }

        var login = form["login"].ToString();
        var password = form["password"].ToString();
        if (login.Length == 0 || password.Length == 0 || login.Length > 254 || password.Length > 256)
        {
            return LoginPages.SignIn(http, antiforgery, returnUrl, "Enter your phone number or e-mail address and your password.", login, StatusCodes.Status400BadRequest);
        }

        var user = await accounts.CheckPasswordAsync(login, password, http.RequestAborted);
        if (user is null)
        {
            return LoginPages.SignIn(http, antiforgery, returnUrl, "Unknown login or wrong password.", login, StatusCodes.Status401Unauthorized);
        }

        var identity = new ClaimsIdentity(
            [new Claim(Claims.Subject, user.Id), new Claim(Claims.Name, user.DisplayName), new Claim(Claims.AuthenticationTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture))],
            CookieScheme, Claims.Name, Claims.Role);
        await http.SignInAsync(CookieScheme, new ClaimsPrincipal(identity));
        return Results.LocalRedirect(returnUrl);
    }

    private static async Task<IResult> AuthorizeAsync(
        HttpContext http, Accounts accounts, IAntiforgery antiforgery,
        IOpenIddictApplicationManager applications, IOpenIddictAuthorizationManager authorizations, IOpenIddictScopeManager scopes)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        var signedIn = await http.AuthenticateAsync(CookieScheme);
        var user = signedIn.Succeeded && signedIn.Principal.GetClaim(Claims.Subject) is { } sub ? await accounts.FindAsync(sub, http.RequestAborted) : null;
        var tooOld = request.MaxAge is { } maxAge && signedIn.Principal?.GetClaim(Claims.AuthenticationTime) is { } at &&
                     long.TryParse(at, out var seconds) && DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeSeconds(seconds) > TimeSpan.FromSeconds(maxAge);
        if (user is null || request.HasPromptValue(PromptValues.Login) || tooOld)
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Forbid(Errors.LoginRequired, "The person is not signed in.");
            }

            // Back to this request once signed in; "prompt=login" is dropped so that it does not ask twice.
            var parameters = http.Request.HasFormContentType ? (IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>>)http.Request.Form : http.Request.Query;
            var again = QueryString.Create(parameters.Where(p => p.Key != Parameters.Prompt || !request.HasPromptValue(PromptValues.Login)));
            return Results.Redirect($"{SignInPath}?returnUrl={Uri.EscapeDataString(AuthorizePath + again)}");
        }

        var application = await applications.FindByClientIdAsync(request.ClientId!, http.RequestAborted)
            ?? throw new InvalidOperationException("OpenIddict validated the client before this handler runs.");
        var applicationId = (await applications.GetIdAsync(application, http.RequestAborted))!;
        var requested = request.GetScopes();
        var granted = new List<object>();
        await foreach (var authorization in authorizations.FindAsync(user.Id, applicationId, Statuses.Valid, AuthorizationTypes.Permanent, requested, http.RequestAborted))
        {
            granted.Add(authorization);
        }

        var consentType = await applications.GetConsentTypeAsync(application, http.RequestAborted);
        var consent = http.Request.HasFormContentType ? http.Request.Form["consent"].ToString() : "";
        if (consent.Length > 0)
        {
            if (!await antiforgery.IsRequestValidAsync(http))
            {
                return Forbid(Errors.AccessDenied, "The consent form expired; start again.");
            }

            if (consent != "accept")
            {
                return Forbid(Errors.AccessDenied, "The person declined.");
            }
        }
        else if (granted.Count == 0 && consentType == ConsentTypes.Explicit || request.HasPromptValue(PromptValues.Consent))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Forbid(Errors.ConsentRequired, "The person has not consented to this application.");
            }

            var name = await applications.GetLocalizedDisplayNameAsync(application, http.RequestAborted) ?? request.ClientId!;
            return LoginPages.Consent(http, antiforgery, name, user.DisplayName, requested);
        }

        var identity = await IdentityOfAsync(user, requested, scopes, http.RequestAborted);
        var permanent = granted.LastOrDefault() ?? (consent == "accept"
            ? await authorizations.CreateAsync(new ClaimsPrincipal(identity), user.Id, applicationId, AuthorizationTypes.Permanent, requested, http.RequestAborted)
            : null);
        if (permanent is not null)
        {
            identity.SetAuthorizationId(await authorizations.GetIdAsync(permanent, http.RequestAborted));
        }

        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static async Task<IResult> TokenAsync(HttpContext http, Accounts accounts, IOpenIddictApplicationManager applications, IOpenIddictScopeManager scopes)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        if (request.IsClientCredentialsGrantType())
        {
            var application = await applications.FindByClientIdAsync(request.ClientId!, http.RequestAborted)
                ?? throw new InvalidOperationException("OpenIddict validated the client before this handler runs.");
            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, request.ClientId);
            identity.SetClaim(Claims.Name, await applications.GetDisplayNameAsync(application, http.RequestAborted) ?? request.ClientId);
            identity.SetScopes(request.GetScopes());
            identity.SetResources(await ResourcesAsync(scopes, request.GetScopes(), http.RequestAborted));
            identity.SetDestinations(_ => [Destinations.AccessToken]);
            return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        if (request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType())
        {
            // The code or refresh token was validated by OpenIddict (signature, expiry, the client, PKCE, and
            // its entry: redeemed once, not revoked). The person must still exist.
            var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            var user = result.Principal?.GetClaim(Claims.Subject) is { } sub ? await accounts.FindAsync(sub, http.RequestAborted) : null;
            if (user is null)
            {
                return Forbid(Errors.InvalidGrant, "The account no longer exists.");
            }

            var identity = await IdentityOfAsync(user, result.Principal!.GetScopes(), scopes, http.RequestAborted);
            identity.SetAuthorizationId(result.Principal!.GetAuthorizationId());
            return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        return Forbid(Errors.UnsupportedGrantType, "This grant type is not supported.");
    }

    private static async Task<IResult> UserInfoAsync(HttpContext http, Accounts accounts)
    {
        var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        var user = result.Principal?.GetClaim(Claims.Subject) is { } sub ? await accounts.FindAsync(sub, http.RequestAborted) : null;
        if (user is null)
        {
            return Results.Challenge(
                new AuthenticationProperties(new Dictionary<string, string?>
                {
                    [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.InvalidToken,
                    [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The account no longer exists.",
                }),
                [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = user.Id };
        var principal = result.Principal!;
        if (principal.HasScope(Scopes.Profile))
        {
            claims[Claims.Name] = user.DisplayName;
        }

        if (principal.HasScope(Scopes.Email) && user.Email is not null)
        {
            claims[Claims.Email] = user.Email;
        }

        return Results.Ok(claims);
    }

    private static async Task<IResult> EndSessionAsync(HttpContext http)
    {
        await http.SignOutAsync(CookieScheme);
        // OpenIddict sends the person on to the client's post_logout_redirect_uri when it is registered, else here.
        return Results.SignOut(new AuthenticationProperties { RedirectUri = "/" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }

    /// <summary>The person as tokens describe them: the subject everywhere, the name only where the profile scope allows.</summary>
    private static async Task<ClaimsIdentity> IdentityOfAsync(UserRecord user, ImmutableArray<string> granted, IOpenIddictScopeManager scopes, CancellationToken cancellationToken)
    {
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Id);
        identity.SetClaim(Claims.Name, user.DisplayName);
        if (user.Email is not null)
        {
            identity.SetClaim(Claims.Email, user.Email);
        }

        identity.SetScopes(granted);
        identity.SetResources(await ResourcesAsync(scopes, granted, cancellationToken));
        identity.SetDestinations(claim => claim.Type switch
        {
            Claims.Name when granted.Contains(Scopes.Profile) => [Destinations.AccessToken, Destinations.IdentityToken],
            Claims.Email when granted.Contains(Scopes.Email) => [Destinations.IdentityToken],
            Claims.Subject => [Destinations.AccessToken, Destinations.IdentityToken],
            _ => [],
        });
        return identity;
    }

    private static async Task<ImmutableArray<string>> ResourcesAsync(IOpenIddictScopeManager scopes, ImmutableArray<string> granted, CancellationToken cancellationToken)
    {
        var resources = ImmutableArray.CreateBuilder<string>();
        await foreach (var resource in scopes.ListResourcesAsync(granted, cancellationToken))
        {
            resources.Add(resource);
        }

        return resources.ToImmutable();
    }

    private static IResult Forbid(string error, string description) =>
        Results.Forbid(
            new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
            }),
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);

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
