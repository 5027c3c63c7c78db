using System.Collections.Immutable;
using System.Security.Claims;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Login;

/// <summary>The login provider's endpoints: sign-in page, authorize, token, userinfo, end session.</summary>
public static partial class LoginProvider
{
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
        if (http.RequestServices.GetRequiredService<KeyRing>().IsLoaded || HostingDefaults.IsHealth(http.Request.Path))
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

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, Accounts accounts, TimeProvider time)
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
            [new Claim(Claims.Subject, user.Id), new Claim(Claims.Name, user.DisplayName), new Claim(Claims.AuthenticationTime, time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture))],
            CookieScheme, Claims.Name, Claims.Role);
        await http.SignInAsync(CookieScheme, new ClaimsPrincipal(identity));
        return Results.LocalRedirect(returnUrl);
    }

    private static async Task<IResult> AuthorizeAsync(
        HttpContext http, Accounts accounts, IAntiforgery antiforgery, TimeProvider time,
        IOpenIddictApplicationManager applications, IOpenIddictAuthorizationManager authorizations, IOpenIddictScopeManager scopes)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        var signedIn = await http.AuthenticateAsync(CookieScheme);
        var user = signedIn.Succeeded && signedIn.Principal.GetClaim(Claims.Subject) is { } sub ? await accounts.FindAsync(sub, http.RequestAborted) : null;
        var tooOld = request.MaxAge is { } maxAge && signedIn.Principal?.GetClaim(Claims.AuthenticationTime) is { } at &&
                     long.TryParse(at, out var seconds) && time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(seconds) > TimeSpan.FromSeconds(maxAge);
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
}
