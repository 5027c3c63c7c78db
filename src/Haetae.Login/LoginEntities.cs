using System.Collections.Immutable;
using System.Text.Json;

namespace Haetae.Login;

/// <summary>An entity with a status that a revocation sets (grants and tokens).</summary>
internal interface IRevocable
{
    string? Status { get; set; }
}

/// <summary>A registered client application (app.ID in the login-clients bucket; client.CLIENT ID points at it).</summary>
internal sealed class LoginApplication : LoginEntity
{
    public string? ApplicationType { get; set; }
    public string? ClientId { get; set; }

    /// <summary>Only ever a hash: OpenIddict's application manager hashes secrets before they reach the store.</summary>
    public string? ClientSecret { get; set; }
    public string? ClientType { get; set; }
    public string? ConsentType { get; set; }
    public string? DisplayName { get; set; }
    public Dictionary<string, string> DisplayNames { get; set; } = [];
    public string? JsonWebKeySet { get; set; }
    public ImmutableArray<string> Permissions { get; set; } = [];
    public ImmutableArray<string> PostLogoutRedirectUris { get; set; } = [];
    public ImmutableDictionary<string, JsonElement> Properties { get; set; } = ImmutableDictionary<string, JsonElement>.Empty;
    public ImmutableArray<string> RedirectUris { get; set; } = [];
    public ImmutableArray<string> Requirements { get; set; } = [];
    public ImmutableDictionary<string, string> Settings { get; set; } = ImmutableDictionary<string, string>.Empty;
}

/// <summary>A scope (scope.ID; scopename.NAME points at it).</summary>
internal sealed class LoginScope : LoginEntity
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public Dictionary<string, string> Descriptions { get; set; } = [];
    public string? DisplayName { get; set; }
    public Dictionary<string, string> DisplayNames { get; set; } = [];
    public ImmutableDictionary<string, JsonElement> Properties { get; set; } = ImmutableDictionary<string, JsonElement>.Empty;
    public ImmutableArray<string> Resources { get; set; } = [];
}

/// <summary>
/// A person's consent to a client, or the ad-hoc grant behind one sign-in (authz.SUBJECT.RANDOM in the
/// login-grants bucket: the subject is in the key, so "this person's grants" is one key filter).
/// </summary>
internal sealed class LoginAuthorization : LoginEntity, IRevocable
{
    public string? ApplicationId { get; set; }
    public DateTimeOffset? CreationDate { get; set; }
    public ImmutableDictionary<string, JsonElement> Properties { get; set; } = ImmutableDictionary<string, JsonElement>.Empty;
    public ImmutableArray<string> Scopes { get; set; } = [];
    public string? Status { get; set; }
    public string? Subject { get; set; }
    public string? Type { get; set; }
}

/// <summary>
/// An issued code or token (token.AUTHORIZATION.RANDOM in the login-tokens bucket: the authorization is
/// in the key, so a replay revokes the whole chain by one key filter).
/// </summary>
internal sealed class LoginToken : LoginEntity, IRevocable
{
    public string? ApplicationId { get; set; }
    public string? AuthorizationId { get; set; }
    public DateTimeOffset? CreationDate { get; set; }
    public DateTimeOffset? ExpirationDate { get; set; }
    public string? Payload { get; set; }
    public ImmutableDictionary<string, JsonElement> Properties { get; set; } = ImmutableDictionary<string, JsonElement>.Empty;
    public DateTimeOffset? RedemptionDate { get; set; }
    public string? ReferenceId { get; set; }

    /// <summary>The reference id whose index (reference.HASH) already points here.</summary>
    public string? IndexedReferenceId { get; set; }
    public string? Status { get; set; }
    public string? Subject { get; set; }
    public string? Type { get; set; }
}

/// <summary>A unique name pointing at an entity id (client.CLIENT ID, scopename.NAME, reference.HASH).</summary>
internal sealed record IndexEntry(string Id);
