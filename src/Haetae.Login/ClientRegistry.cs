using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Login;

/// <summary>The rules a registration must meet, as plain functions (testable without a store).</summary>
internal static partial class ClientRules
{
    public const int MinSecretLength = 32;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{2,63}$")]
    private static partial Regex ClientIdPattern();

    [GeneratedRegex("^[a-z][a-z0-9_.-]{1,63}$")]
    private static partial Regex ScopePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{1,63}$")]
    private static partial Regex AudiencePattern();

    public static string Audience(string? audience) =>
        audience?.Trim() is { } trimmed && AudiencePattern().IsMatch(trimmed)
            ? trimmed
            : throw ApiProblem.BadRequest("audience must be 2 to 64 characters (a-z, 0-9, '.', '_', '-')");

    private static readonly ImmutableArray<string> StandardScopes = [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess];

    public static string ClientId(string? clientId) =>
        clientId is not null && ClientIdPattern().IsMatch(clientId)
            ? clientId
            : throw ApiProblem.BadRequest("clientId must be 3 to 64 lower-case letters, digits or '-', starting with a letter or digit");

    public static string ScopeName(string? name) =>
        name is not null && ScopePattern().IsMatch(name) && !StandardScopes.Contains(name)
            ? name
            : throw ApiProblem.BadRequest("a scope name is 2 to 64 characters (a-z, 0-9, '_', '.', '-'), starts with a letter, and is not a standard scope");

    /// <summary>
    /// An absolute URI that a code may be sent to: https, or http to a loopback address (a local
    /// app); no fragment (RFC 6749 3.1.2), no user info, no wildcards.
    /// </summary>
    public static string RedirectUri(string? uri, string field)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Fragment.Length > 0 || parsed.UserInfo.Length > 0 || uri!.Contains('*'))
        {
            throw ApiProblem.BadRequest($"{field}: '{uri}' must be an absolute URI without fragment, user info or wildcard");
        }

        var loopback = parsed.IsLoopback || (IPAddress.TryParse(parsed.Host, out var address) && IPAddress.IsLoopback(address));
        if (parsed.Scheme != Uri.UriSchemeHttps && !(parsed.Scheme == Uri.UriSchemeHttp && loopback))
        {
            throw ApiProblem.BadRequest($"{field}: '{uri}' must use https (http is allowed only for loopback addresses)");
        }

        return parsed.AbsoluteUri;
    }

    public static OpenIddictApplicationDescriptor Descriptor(string clientId, ClientRegistration registration, string? secret)
    {
        var name = registration.DisplayName?.Trim() ?? "";
        if (name.Length is 0 or > 64 || name.Any(char.IsControl))
        {
            throw ApiProblem.BadRequest("displayName must be 1 to 64 characters without control characters");
        }

        var redirects = (registration.RedirectUris ?? []).Select(u => RedirectUri(u, "redirectUris")).Distinct().ToList();
        var postLogout = (registration.PostLogoutRedirectUris ?? []).Select(u => RedirectUri(u, "postLogoutRedirectUris")).Distinct().ToList();
        var scopes = (registration.Scopes ?? []).Select(ScopeName).Distinct().ToList();
        if (registration.Public && registration.ClientCredentials)
        {
            throw ApiProblem.BadRequest("a public client has no secret, so it cannot use client credentials");
        }

        if (redirects.Count == 0 && !registration.ClientCredentials)
        {
            throw ApiProblem.BadRequest("give redirectUris (for sign-in) or clientCredentials: true (for a service)");
        }

        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            DisplayName = name,
            ClientType = registration.Public ? ClientTypes.Public : ClientTypes.Confidential,
            ApplicationType = registration.Public ? ApplicationTypes.Native : ApplicationTypes.Web,
            ConsentType = registration.SkipConsent ? ConsentTypes.Implicit : ConsentTypes.Explicit,
            ClientSecret = registration.Public ? null : secret,
        };
        descriptor.Permissions.UnionWith([Permissions.Endpoints.Token, Permissions.Endpoints.Revocation, Permissions.Endpoints.Introspection]);
        if (redirects.Count > 0)
        {
            descriptor.RedirectUris.UnionWith(redirects.Select(u => new Uri(u)));
            descriptor.PostLogoutRedirectUris.UnionWith(postLogout.Select(u => new Uri(u)));
            descriptor.Permissions.UnionWith([
                Permissions.Endpoints.Authorization, Permissions.Endpoints.EndSession,
                Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken, Permissions.ResponseTypes.Code,
                Permissions.Scopes.Profile, Permissions.Scopes.Email, Permissions.Prefixes.Scope + Scopes.OfflineAccess]);
            descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
        }

        if (registration.ClientCredentials)
        {
            descriptor.Permissions.Add(Permissions.GrantTypes.ClientCredentials);
        }

        descriptor.Permissions.UnionWith(scopes.Select(s => Permissions.Prefixes.Scope + s));
        return descriptor;
    }

    public static string NewSecret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Registers client applications and API scopes through OpenIddict's managers (which hash secrets).</summary>
internal sealed class ClientRegistry(IOpenIddictApplicationManager applications, IOpenIddictScopeManager scopes)
{
    public async Task<ClientView> PutClientAsync(string clientId, ClientRegistration registration, CancellationToken cancellationToken)
    {
        clientId = ClientRules.ClientId(clientId);
        string? secret = null;
        if (!registration.Public)
        {
            if (registration.ClientSecret is { } given && given.Length < ClientRules.MinSecretLength)
            {
                throw ApiProblem.BadRequest($"clientSecret must be at least {ClientRules.MinSecretLength} characters");
            }

            secret = registration.ClientSecret ?? ClientRules.NewSecret();
        }

        var descriptor = ClientRules.Descriptor(clientId, registration, secret);
        foreach (var scope in registration.Scopes ?? [])
        {
            if (await scopes.FindByNameAsync(scope, cancellationToken) is null)
            {
                throw ApiProblem.BadRequest($"scope '{scope}' is not registered; register it with PUT /admin/scopes/{scope}");
            }
        }

        var existing = await applications.FindByClientIdAsync(clientId, cancellationToken);
        if (existing is null)
        {
            await applications.CreateAsync(descriptor, cancellationToken);
        }
        else
        {
            await applications.UpdateAsync(existing, descriptor, cancellationToken);
        }

        return View(clientId, registration, descriptor, registration.ClientSecret is null ? secret : null);
    }

    public async Task<IReadOnlyList<ClientView>> ListClientsAsync(CancellationToken cancellationToken)
    {
        var views = new List<ClientView>();
        await foreach (var application in applications.ListAsync(count: null, offset: null, cancellationToken))
        {
            var descriptor = new OpenIddictApplicationDescriptor();
            await applications.PopulateAsync(descriptor, application, cancellationToken);
            views.Add(new ClientView(
                descriptor.ClientId!, descriptor.DisplayName ?? "", descriptor.ClientType == ClientTypes.Public,
                [.. descriptor.RedirectUris.Select(u => u.AbsoluteUri)], [.. descriptor.PostLogoutRedirectUris.Select(u => u.AbsoluteUri)],
                [.. descriptor.Permissions.Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal)).Select(p => p[Permissions.Prefixes.Scope.Length..]).Where(s => s is not Scopes.Profile and not Scopes.Email and not Scopes.OfflineAccess)],
                descriptor.Permissions.Contains(Permissions.GrantTypes.ClientCredentials), descriptor.ConsentType == ConsentTypes.Implicit));
        }

        return [.. views.OrderBy(v => v.ClientId, StringComparer.Ordinal)];
    }

    public async Task<bool> DeleteClientAsync(string clientId, CancellationToken cancellationToken)
    {
        var existing = await applications.FindByClientIdAsync(ClientRules.ClientId(clientId), cancellationToken);
        if (existing is null)
        {
            return false;
        }

        await applications.DeleteAsync(existing, cancellationToken);
        return true;
    }

    public async Task<ScopeView> PutScopeAsync(string name, ScopeRegistration registration, CancellationToken cancellationToken)
    {
        name = ClientRules.ScopeName(name);
        var audience = ClientRules.Audience(registration.Audience);

        var displayName = registration.DisplayName?.Trim() is { Length: > 0 and <= 64 } d ? d : name;
        var descriptor = new OpenIddictScopeDescriptor { Name = name, DisplayName = displayName, Resources = { audience } };
        var existing = await scopes.FindByNameAsync(name, cancellationToken);
        if (existing is null)
        {
            await scopes.CreateAsync(descriptor, cancellationToken);
        }
        else
        {
            await scopes.UpdateAsync(existing, descriptor, cancellationToken);
        }

        return new ScopeView(name, displayName, audience);
    }

    private static ClientView View(string clientId, ClientRegistration registration, OpenIddictApplicationDescriptor descriptor, string? generatedSecret) =>
        new(clientId, descriptor.DisplayName!, registration.Public,
            [.. descriptor.RedirectUris.Select(u => u.AbsoluteUri)], [.. descriptor.PostLogoutRedirectUris.Select(u => u.AbsoluteUri)],
            [.. (registration.Scopes ?? []).Distinct()], registration.ClientCredentials, registration.SkipConsent, generatedSecret);
}

/// <summary>The admin API: client and scope registration, for operators only (a bearer admin key compared in constant time).</summary>
internal static class ClientAdminApi
{
    public static void MapClientAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter(AdminKey.RequireAsync).DisableAntiforgery();
        admin.MapPut("/clients/{clientId}", async (string clientId, ClientRegistration registration, ClientRegistry registry, CancellationToken ct) =>
            TypedResults.Ok(await registry.PutClientAsync(clientId, registration, ct)));
        admin.MapGet("/clients", async (ClientRegistry registry, CancellationToken ct) => TypedResults.Ok(await registry.ListClientsAsync(ct)));
        admin.MapDelete("/clients/{clientId}", async (string clientId, ClientRegistry registry, CancellationToken ct) =>
            await registry.DeleteClientAsync(clientId, ct) ? Results.NoContent() : Results.Problem(statusCode: 404, title: "Not found", detail: $"no client '{clientId}'"));
        admin.MapPut("/scopes/{name}", async (string name, ScopeRegistration registration, ClientRegistry registry, CancellationToken ct) =>
            TypedResults.Ok(await registry.PutScopeAsync(name, registration, ct)));
    }
}
