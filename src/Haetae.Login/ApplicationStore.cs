using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;

namespace Haetae.Login;

internal sealed class ApplicationStore(Buckets buckets) : KvStore<LoginApplication>(buckets, Assets.LoginClientsBucket, "app"), IOpenIddictApplicationStore<LoginApplication>
{
    private static string ClientIndex(string clientId) => $"client.{EntityBucket<LoginApplication>.KeyPartOf(clientId)}";

    public async ValueTask CreateAsync(LoginApplication application, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(application.ClientId);
        application.Id ??= EntityBucket<LoginApplication>.NewId();
        await ClaimIndexAsync(ClientIndex(application.ClientId), application.Id, cancellationToken);
        await Entities.CreateAsync(application, cancellationToken);
    }

    public override async ValueTask DeleteAsync(LoginApplication application, CancellationToken cancellationToken)
    {
        await base.DeleteAsync(application, cancellationToken);
        if (application.ClientId is not null)
        {
            await DropIndexAsync(ClientIndex(application.ClientId), cancellationToken);
        }
    }

    public ValueTask<LoginApplication?> FindByClientIdAsync(string identifier, CancellationToken cancellationToken) =>
        FindByIndexAsync(ClientIndex(identifier), cancellationToken);

    public IAsyncEnumerable<LoginApplication> FindByPostLogoutRedirectUriAsync(string uri, CancellationToken cancellationToken) =>
        WhereAsync(a => a.PostLogoutRedirectUris.Contains(uri, StringComparer.Ordinal), cancellationToken);

    public IAsyncEnumerable<LoginApplication> FindByRedirectUriAsync(string uri, CancellationToken cancellationToken) =>
        WhereAsync(a => a.RedirectUris.Contains(uri, StringComparer.Ordinal), cancellationToken);

    public ValueTask<string?> GetApplicationTypeAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.ApplicationType);

    public ValueTask<string?> GetClientIdAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.ClientId);

    public ValueTask<string?> GetClientSecretAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.ClientSecret);

    public ValueTask<string?> GetClientTypeAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.ClientType);

    public ValueTask<string?> GetConsentTypeAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.ConsentType);

    public ValueTask<string?> GetDisplayNameAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.DisplayName);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDisplayNamesAsync(LoginApplication application, CancellationToken cancellationToken) => Done(Cultures(application.DisplayNames));

    public ValueTask<JsonWebKeySet?> GetJsonWebKeySetAsync(LoginApplication application, CancellationToken cancellationToken) =>
        Done(application.JsonWebKeySet is null ? null : new JsonWebKeySet(application.JsonWebKeySet));

    public ValueTask<ImmutableArray<string>> GetPermissionsAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.Permissions);

    public ValueTask<ImmutableArray<string>> GetPostLogoutRedirectUrisAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.PostLogoutRedirectUris);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.Properties);

    public ValueTask<ImmutableArray<string>> GetRedirectUrisAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.RedirectUris);

    public ValueTask<ImmutableArray<string>> GetRequirementsAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.Requirements);

    public ValueTask<ImmutableDictionary<string, string>> GetSettingsAsync(LoginApplication application, CancellationToken cancellationToken) => Done(application.Settings);

    public ValueTask SetApplicationTypeAsync(LoginApplication application, string? type, CancellationToken cancellationToken) => Set(() => application.ApplicationType = type);

    public ValueTask SetClientIdAsync(LoginApplication application, string? identifier, CancellationToken cancellationToken)
    {
        if (application.Id is not null && application.ClientId is not null && application.ClientId != identifier)
        {
            // The client id is the index that finds the application; changing it would orphan the old one.
            throw new InvalidOperationException("A registered client's id cannot change; register a new client.");
        }

        return Set(() => application.ClientId = identifier);
    }

    public ValueTask SetClientSecretAsync(LoginApplication application, string? secret, CancellationToken cancellationToken) => Set(() => application.ClientSecret = secret);

    public ValueTask SetClientTypeAsync(LoginApplication application, string? type, CancellationToken cancellationToken) => Set(() => application.ClientType = type);

    public ValueTask SetConsentTypeAsync(LoginApplication application, string? type, CancellationToken cancellationToken) => Set(() => application.ConsentType = type);

    public ValueTask SetDisplayNameAsync(LoginApplication application, string? name, CancellationToken cancellationToken) => Set(() => application.DisplayName = name);

    public ValueTask SetDisplayNamesAsync(LoginApplication application, ImmutableDictionary<CultureInfo, string> names, CancellationToken cancellationToken) => Set(() => application.DisplayNames = Names(names));

    public ValueTask SetJsonWebKeySetAsync(LoginApplication application, JsonWebKeySet? set, CancellationToken cancellationToken) =>
        Set(() => application.JsonWebKeySet = set is null ? null : JsonSerializer.Serialize(set));

    public ValueTask SetPermissionsAsync(LoginApplication application, ImmutableArray<string> permissions, CancellationToken cancellationToken) => Set(() => application.Permissions = permissions);

    public ValueTask SetPostLogoutRedirectUrisAsync(LoginApplication application, ImmutableArray<string> uris, CancellationToken cancellationToken) => Set(() => application.PostLogoutRedirectUris = uris);

    public ValueTask SetPropertiesAsync(LoginApplication application, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) => Set(() => application.Properties = properties);

    public ValueTask SetRedirectUrisAsync(LoginApplication application, ImmutableArray<string> uris, CancellationToken cancellationToken) => Set(() => application.RedirectUris = uris);

    public ValueTask SetRequirementsAsync(LoginApplication application, ImmutableArray<string> requirements, CancellationToken cancellationToken) => Set(() => application.Requirements = requirements);

    public ValueTask SetSettingsAsync(LoginApplication application, ImmutableDictionary<string, string> settings, CancellationToken cancellationToken) => Set(() => application.Settings = settings);
}
