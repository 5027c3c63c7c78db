namespace Haetae.Contracts;

/// <summary>
/// A third-party application as registered with the login provider (PUT /admin/clients/{clientId}).
/// </summary>
/// <param name="DisplayName">Shown to people on the consent page.</param>
/// <param name="RedirectUris">Where codes may be sent: absolute https URIs (http only for loopback), no fragment. Empty: no sign-in flow (client credentials only).</param>
/// <param name="PostLogoutRedirectUris">Where people may be sent after signing out; same rules.</param>
/// <param name="Public">A public client (a phone or browser app) has no secret and must use PKCE; a confidential one (the default) authenticates with its secret.</param>
/// <param name="Scopes">Scopes beyond openid, profile, email and offline_access that it may ask for (APIs registered with PUT /admin/scopes/{name}).</param>
/// <param name="ClientCredentials">Whether it may get tokens for itself (client credentials grant); confidential clients only.</param>
/// <param name="ClientSecret">The secret to set (at least 32 characters); omitted: a new one is generated and returned once.</param>
/// <param name="SkipConsent">First-party applications skip the consent page; third parties never should.</param>
public sealed record ClientRegistration(
    string? DisplayName,
    IReadOnlyList<string>? RedirectUris = null,
    IReadOnlyList<string>? PostLogoutRedirectUris = null,
    bool Public = false,
    IReadOnlyList<string>? Scopes = null,
    bool ClientCredentials = false,
    string? ClientSecret = null,
    bool SkipConsent = false);

/// <summary>A registered client as the admin API shows it; the secret only once, when it was generated.</summary>
public sealed record ClientView(
    string ClientId, string DisplayName, bool Public, IReadOnlyList<string> RedirectUris, IReadOnlyList<string> PostLogoutRedirectUris,
    IReadOnlyList<string> Scopes, bool ClientCredentials, bool SkipConsent, string? ClientSecret = null);

/// <summary>An API scope (PUT /admin/scopes/{name}): access tokens granted it name <paramref name="Audience"/> in "aud".</summary>
public sealed record ScopeRegistration(string? DisplayName, string? Audience);

public sealed record ScopeView(string Name, string DisplayName, string Audience);
