using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;

namespace Haetae.Login;

/// <summary>
/// What the four OpenIddict stores share: the entity's bucket, unique-name indexes, and the generic
/// queries OpenIddict's managers offer for administration, which run over a full listing (the clients
/// and scopes number in the tens; the person-facing paths use key filters, never a listing).
/// </summary>
internal abstract class KvStore<T>(Buckets buckets, string bucket, string kind)
    where T : LoginEntity, new()
{
    protected EntityBucket<T> Entities { get; } = new(buckets, bucket, kind);

    protected Buckets Buckets => buckets;

    /// <summary>The id filter that lists everything.</summary>
    protected virtual string AllIds => ">";

    public ValueTask<T> InstantiateAsync(CancellationToken cancellationToken) => ValueTask.FromResult(new T());

    public ValueTask<string?> GetIdAsync(T entity, CancellationToken cancellationToken) => ValueTask.FromResult(entity.Id);

    public virtual ValueTask<T?> FindByIdAsync(string identifier, CancellationToken cancellationToken) => Entities.FindAsync(identifier, cancellationToken);

    public virtual ValueTask UpdateAsync(T entity, CancellationToken cancellationToken) => Entities.UpdateAsync(entity, cancellationToken);

    public virtual ValueTask DeleteAsync(T entity, CancellationToken cancellationToken) => Entities.DeleteAsync(entity, cancellationToken);

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken) => (await AllAsync(cancellationToken)).Count;

    public async ValueTask<long> CountAsync<TResult>(Func<IQueryable<T>, IQueryable<TResult>> query, CancellationToken cancellationToken) =>
        query((await AllAsync(cancellationToken)).AsQueryable()).LongCount();

    public async ValueTask<TResult?> GetAsync<TState, TResult>(Func<IQueryable<T>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) =>
        query((await AllAsync(cancellationToken)).AsQueryable(), state).FirstOrDefault();

    public async IAsyncEnumerable<T> ListAsync(int? count, int? offset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var all = (await AllAsync(cancellationToken)).OrderBy(e => e.Id, StringComparer.Ordinal).Skip(offset ?? 0);
        foreach (var entity in count is { } n ? all.Take(n) : all)
        {
            yield return entity;
        }
    }

    public async IAsyncEnumerable<TResult> ListAsync<TState, TResult>(Func<IQueryable<T>, TState, IQueryable<TResult>> query, TState state, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var result in query((await AllAsync(cancellationToken)).AsQueryable(), state))
        {
            yield return result;
        }
    }

    protected async Task<List<T>> AllAsync(CancellationToken cancellationToken)
    {
        var all = new List<T>();
        await foreach (var entity in Entities.ListAsync(AllIds, cancellationToken))
        {
            all.Add(entity);
        }

        return all;
    }

    protected IAsyncEnumerable<T> WhereAsync(Func<T, bool> predicate, CancellationToken cancellationToken) => WhereAsync(AllIds, predicate, cancellationToken);

    protected async IAsyncEnumerable<T> WhereAsync(string idFilter, Func<T, bool> predicate, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entity in Entities.ListAsync(idFilter, cancellationToken))
        {
            if (predicate(entity))
            {
                yield return entity;
            }
        }
    }

    /// <summary>Claims a unique name for an entity (create-only, so two sites cannot both claim it).</summary>
    protected async ValueTask ClaimIndexAsync(string indexKey, string id, CancellationToken cancellationToken)
    {
        var claimed = await StoreRetry.ThroughElectionAsync(
            async () => await (await buckets.GetAsync(bucket)).TryCreateAsync(indexKey, new IndexEntry(id), cancellationToken), cancellationToken);
        if (!claimed)
        {
            var existing = await ReadIndexAsync(indexKey, cancellationToken);
            if (existing != id && (existing is null || await Entities.FindAsync(existing, cancellationToken) is not null))
            {
                throw new OpenIddictExceptions.ConcurrencyException($"{indexKey} is taken.");
            }

            // The entity it named is gone: the name is free again.
            await StoreRetry.ThroughElectionAsync(
                async () => await (await buckets.GetAsync(bucket)).PutAsync(indexKey, new IndexEntry(id), cancellationToken), cancellationToken);
        }
    }

    protected async ValueTask<string?> ReadIndexAsync(string indexKey, CancellationToken cancellationToken) =>
        (await StoreRetry.ThroughElectionAsync(
            async () => await (await buckets.GetAsync(bucket)).GetFromLeaderAsync<IndexEntry>(indexKey, cancellationToken), cancellationToken))?.Value.Id;

    protected async ValueTask<T?> FindByIndexAsync(string indexKey, CancellationToken cancellationToken) =>
        await ReadIndexAsync(indexKey, cancellationToken) is { } id && await Entities.FindAsync(id, cancellationToken) is { } entity ? entity : null;

    protected ValueTask DropIndexAsync(string indexKey, CancellationToken cancellationToken) =>
        new(StoreRetry.ThroughElectionAsync(async () =>
        {
            await (await buckets.GetAsync(bucket)).DeleteAsync(indexKey, cancellationToken);
            return true;
        }, cancellationToken));

    protected static ImmutableDictionary<CultureInfo, string> Cultures(Dictionary<string, string> names) =>
        names.ToImmutableDictionary(p => CultureInfo.GetCultureInfo(p.Key), p => p.Value);

    protected static Dictionary<string, string> Names(ImmutableDictionary<CultureInfo, string> names) =>
        names.ToDictionary(p => p.Key.Name, p => p.Value);

    protected static ValueTask<TValue> Done<TValue>(TValue value) => ValueTask.FromResult(value);

    protected static ValueTask Set(Action set)
    {
        set();
        return ValueTask.CompletedTask;
    }
}

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

internal sealed class ScopeStore(Buckets buckets) : KvStore<LoginScope>(buckets, Assets.LoginClientsBucket, "scope"), IOpenIddictScopeStore<LoginScope>
{
    private static string NameIndex(string name) => $"scopename.{EntityBucket<LoginScope>.KeyPartOf(name)}";

    public async ValueTask CreateAsync(LoginScope scope, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope.Name);
        scope.Id ??= EntityBucket<LoginScope>.NewId();
        await ClaimIndexAsync(NameIndex(scope.Name), scope.Id, cancellationToken);
        await Entities.CreateAsync(scope, cancellationToken);
    }

    public override async ValueTask DeleteAsync(LoginScope scope, CancellationToken cancellationToken)
    {
        await base.DeleteAsync(scope, cancellationToken);
        if (scope.Name is not null)
        {
            await DropIndexAsync(NameIndex(scope.Name), cancellationToken);
        }
    }

    public ValueTask<LoginScope?> FindByNameAsync(string name, CancellationToken cancellationToken) => FindByIndexAsync(NameIndex(name), cancellationToken);

    public async IAsyncEnumerable<LoginScope> FindByNamesAsync(ImmutableArray<string> names, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (await FindByNameAsync(name, cancellationToken) is { } scope)
            {
                yield return scope;
            }
        }
    }

    public IAsyncEnumerable<LoginScope> FindByResourceAsync(string resource, CancellationToken cancellationToken) =>
        WhereAsync(s => s.Resources.Contains(resource, StringComparer.Ordinal), cancellationToken);

    public ValueTask<string?> GetDescriptionAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Description);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDescriptionsAsync(LoginScope scope, CancellationToken cancellationToken) => Done(Cultures(scope.Descriptions));

    public ValueTask<string?> GetDisplayNameAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.DisplayName);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDisplayNamesAsync(LoginScope scope, CancellationToken cancellationToken) => Done(Cultures(scope.DisplayNames));

    public ValueTask<string?> GetNameAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Name);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Properties);

    public ValueTask<ImmutableArray<string>> GetResourcesAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Resources);

    public ValueTask SetDescriptionAsync(LoginScope scope, string? description, CancellationToken cancellationToken) => Set(() => scope.Description = description);

    public ValueTask SetDescriptionsAsync(LoginScope scope, ImmutableDictionary<CultureInfo, string> descriptions, CancellationToken cancellationToken) => Set(() => scope.Descriptions = Names(descriptions));

    public ValueTask SetDisplayNameAsync(LoginScope scope, string? name, CancellationToken cancellationToken) => Set(() => scope.DisplayName = name);

    public ValueTask SetDisplayNamesAsync(LoginScope scope, ImmutableDictionary<CultureInfo, string> names, CancellationToken cancellationToken) => Set(() => scope.DisplayNames = Names(names));

    public ValueTask SetNameAsync(LoginScope scope, string? name, CancellationToken cancellationToken)
    {
        if (scope.Id is not null && scope.Name is not null && scope.Name != name)
        {
            throw new InvalidOperationException("A scope's name cannot change; create a new scope.");
        }

        return Set(() => scope.Name = name);
    }

    public ValueTask SetPropertiesAsync(LoginScope scope, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) => Set(() => scope.Properties = properties);

    public ValueTask SetResourcesAsync(LoginScope scope, ImmutableArray<string> resources, CancellationToken cancellationToken) => Set(() => scope.Resources = resources);
}

internal sealed class AuthorizationStore(Buckets buckets, IServiceProvider services) : KvStore<LoginAuthorization>(buckets, Assets.LoginGrantsBucket, "authz"), IOpenIddictAuthorizationStore<LoginAuthorization>
{
    private static string SubjectPart(string subject) => EntityBucket<LoginAuthorization>.KeyPartOf(subject);

    public ValueTask CreateAsync(LoginAuthorization authorization, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(authorization.Subject);
        authorization.Id ??= $"{SubjectPart(authorization.Subject)}.{EntityBucket<LoginAuthorization>.NewId()}";
        return Entities.CreateAsync(authorization, cancellationToken);
    }

    public IAsyncEnumerable<LoginAuthorization> FindAsync(string? subject, string? client, string? status, string? type, ImmutableArray<string>? scopes, CancellationToken cancellationToken)
    {
        bool Matches(LoginAuthorization a) =>
            (subject is null || a.Subject == subject) && (client is null || a.ApplicationId == client) &&
            (status is null || a.Status == status) && (type is null || a.Type == type) &&
            (scopes is null || scopes.Value.All(s => a.Scopes.Contains(s, StringComparer.Ordinal)));
        return subject is null ? WhereAsync(Matches, cancellationToken) : WhereAsync($"{SubjectPart(subject)}.*", Matches, cancellationToken);
    }

    public IAsyncEnumerable<LoginAuthorization> FindByApplicationIdAsync(string identifier, CancellationToken cancellationToken) =>
        WhereAsync(a => a.ApplicationId == identifier, cancellationToken);

    public IAsyncEnumerable<LoginAuthorization> FindBySubjectAsync(string subject, CancellationToken cancellationToken) =>
        WhereAsync($"{SubjectPart(subject)}.*", a => a.Subject == subject, cancellationToken);

    public ValueTask<string?> GetApplicationIdAsync(LoginAuthorization authorization, CancellationToken cancellationToken) => Done(authorization.ApplicationId);

    public ValueTask<DateTimeOffset?> GetCreationDateAsync(LoginAuthorization authorization, CancellationToken cancellationToken) => Done(authorization.CreationDate);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(LoginAuthorization authorization, CancellationToken cancellationToken) => Done(authorization.Properties);

    public ValueTask<ImmutableArray<string>> GetScopesAsync(LoginAuthorization authorization, CancellationToken cancellationToken) => Done(authorization.Scopes);

    public ValueTask<string?> GetStatusAsync(LoginAuthorization authorization, CancellationToken cancellationToken) => Done(authorization.Status);

    public ValueTask<string?> GetSubjectAsync(LoginAuthorization authorization, CancellationToken cancellationToken) => Done(authorization.Subject);

    public ValueTask<string?> GetTypeAsync(LoginAuthorization authorization, CancellationToken cancellationToken) => Done(authorization.Type);

    /// <summary>Removes ad-hoc grants older than the threshold that no longer back a token, and grants no longer valid.</summary>
    public async ValueTask<long> PruneAsync(DateTimeOffset threshold, CancellationToken cancellationToken)
    {
        var tokens = services.GetRequiredService<TokenStore>();
        long pruned = 0;
        foreach (var authorization in await AllAsync(cancellationToken))
        {
            if (authorization.CreationDate >= threshold)
            {
                continue;
            }

            var idle = authorization.Type == OpenIddictConstants.AuthorizationTypes.AdHoc && !await tokens.HasAnyAsync(authorization.Id!, cancellationToken);
            if (idle || authorization.Status != OpenIddictConstants.Statuses.Valid)
            {
                await DeleteAsync(authorization, cancellationToken);
                pruned++;
            }
        }

        return pruned;
    }

    public async ValueTask<long> RevokeAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken) =>
        await RevokeAllAsync(FindAsync(subject, client, status, type, null, cancellationToken), cancellationToken);

    public ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken) =>
        RevokeAllAsync(FindByApplicationIdAsync(identifier, cancellationToken), cancellationToken);

    public ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken) =>
        RevokeAllAsync(FindBySubjectAsync(subject, cancellationToken), cancellationToken);

    private async ValueTask<long> RevokeAllAsync(IAsyncEnumerable<LoginAuthorization> authorizations, CancellationToken cancellationToken)
    {
        long revoked = 0;
        await foreach (var authorization in authorizations)
        {
            authorization.Status = OpenIddictConstants.Statuses.Revoked;
            await UpdateAsync(authorization, cancellationToken);
            revoked++;
        }

        return revoked;
    }

    /// <summary>A revocation wins over any change it raced with: it is applied again to the newest copy.</summary>
    public override ValueTask UpdateAsync(LoginAuthorization authorization, CancellationToken cancellationToken) =>
        Entities.UpdateLettingRevocationWinAsync(authorization, cancellationToken);

    public ValueTask SetApplicationIdAsync(LoginAuthorization authorization, string? identifier, CancellationToken cancellationToken) => Set(() => authorization.ApplicationId = identifier);

    public ValueTask SetCreationDateAsync(LoginAuthorization authorization, DateTimeOffset? date, CancellationToken cancellationToken) => Set(() => authorization.CreationDate = date);

    public ValueTask SetPropertiesAsync(LoginAuthorization authorization, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) => Set(() => authorization.Properties = properties);

    public ValueTask SetScopesAsync(LoginAuthorization authorization, ImmutableArray<string> scopes, CancellationToken cancellationToken) => Set(() => authorization.Scopes = scopes);

    public ValueTask SetStatusAsync(LoginAuthorization authorization, string? status, CancellationToken cancellationToken) => Set(() => authorization.Status = status);

    public ValueTask SetSubjectAsync(LoginAuthorization authorization, string? subject, CancellationToken cancellationToken)
    {
        if (authorization.Id is not null && authorization.Subject != subject)
        {
            throw new InvalidOperationException("A grant's subject is part of its key and cannot change.");
        }

        return Set(() => authorization.Subject = subject);
    }

    public ValueTask SetTypeAsync(LoginAuthorization authorization, string? type, CancellationToken cancellationToken) => Set(() => authorization.Type = type);
}

internal sealed class TokenStore(Buckets buckets, Microsoft.AspNetCore.Http.IHttpContextAccessor? http = null)
    : KvStore<LoginToken>(buckets, Assets.LoginTokensBucket, "token"), IOpenIddictTokenStore<LoginToken>
{
    /// <summary>Set on the request that lost a redemption race; the value is the token's authorization id.</summary>
    public const string LostRedemption = "haetae.login.lost-redemption";

    /// <summary>Tokens issued without an authorization (client credentials) share this key part.</summary>
    private const string NoAuthorization = "none";

    private static string AuthorizationPart(string? authorizationId) =>
        authorizationId is null ? NoAuthorization : EntityBucket<LoginToken>.KeyPartOf(authorizationId);

    private static string ReferenceIndex(string referenceId) =>
        RequestIds.Derive("reference.", 64, referenceId);

    public async ValueTask CreateAsync(LoginToken token, CancellationToken cancellationToken)
    {
        token.Id ??= $"{AuthorizationPart(token.AuthorizationId)}.{EntityBucket<LoginToken>.NewId()}";
        await IndexReferenceAsync(token, cancellationToken);
        await Entities.CreateAsync(token, cancellationToken);
    }

    /// <summary>
    /// Codes and reference tokens are handed out as a reference id that OpenIddict attaches after the
    /// entry is created: the index that finds the entry by it is claimed before the entry names it.
    /// </summary>
    private async ValueTask IndexReferenceAsync(LoginToken token, CancellationToken cancellationToken)
    {
        if (token.ReferenceId is not null && token.IndexedReferenceId != token.ReferenceId)
        {
            await ClaimIndexAsync(ReferenceIndex(token.ReferenceId), token.Id!, cancellationToken);
            token.IndexedReferenceId = token.ReferenceId;
        }
    }

    public async ValueTask<bool> HasAnyAsync(string authorizationId, CancellationToken cancellationToken)
    {
        await foreach (var _ in FindByAuthorizationIdAsync(authorizationId, cancellationToken))
        {
            return true;
        }

        return false;
    }

    public IAsyncEnumerable<LoginToken> FindAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken) =>
        WhereAsync(t => (subject is null || t.Subject == subject) && (client is null || t.ApplicationId == client) &&
                        (status is null || t.Status == status) && (type is null || t.Type == type), cancellationToken);

    public IAsyncEnumerable<LoginToken> FindByApplicationIdAsync(string identifier, CancellationToken cancellationToken) =>
        WhereAsync(t => t.ApplicationId == identifier, cancellationToken);

    public IAsyncEnumerable<LoginToken> FindByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken) =>
        WhereAsync($"{AuthorizationPart(identifier)}.*", t => t.AuthorizationId == identifier, cancellationToken);

    public ValueTask<LoginToken?> FindByReferenceIdAsync(string identifier, CancellationToken cancellationToken) =>
        FindByIndexAsync(ReferenceIndex(identifier), cancellationToken);

    public IAsyncEnumerable<LoginToken> FindBySubjectAsync(string subject, CancellationToken cancellationToken) =>
        WhereAsync(t => t.Subject == subject, cancellationToken);

    public ValueTask<string?> GetApplicationIdAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.ApplicationId);

    public ValueTask<string?> GetAuthorizationIdAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.AuthorizationId);

    public ValueTask<DateTimeOffset?> GetCreationDateAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.CreationDate);

    public ValueTask<DateTimeOffset?> GetExpirationDateAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.ExpirationDate);

    public ValueTask<string?> GetPayloadAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.Payload);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.Properties);

    public ValueTask<DateTimeOffset?> GetRedemptionDateAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.RedemptionDate);

    public ValueTask<string?> GetReferenceIdAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.ReferenceId);

    public ValueTask<string?> GetStatusAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.Status);

    public ValueTask<string?> GetSubjectAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.Subject);

    public ValueTask<string?> GetTypeAsync(LoginToken token, CancellationToken cancellationToken) => Done(token.Type);

    /// <remarks>The tokens bucket forgets entries older than the longest token lifetime by itself (its max age); this removes the rest early.</remarks>
    public async ValueTask<long> PruneAsync(DateTimeOffset threshold, CancellationToken cancellationToken)
    {
        long pruned = 0;
        foreach (var token in await AllAsync(cancellationToken))
        {
            if (token.CreationDate < threshold && (token.Status != OpenIddictConstants.Statuses.Valid || token.ExpirationDate < DateTimeOffset.UtcNow))
            {
                await DeleteAsync(token, cancellationToken);
                pruned++;
            }
        }

        return pruned;
    }

    public ValueTask<long> RevokeAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken) =>
        RevokeAllAsync(FindAsync(subject, client, status, type, cancellationToken), cancellationToken);

    public ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken) =>
        RevokeAllAsync(FindByApplicationIdAsync(identifier, cancellationToken), cancellationToken);

    public ValueTask<long> RevokeByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken) =>
        RevokeAllAsync(FindByAuthorizationIdAsync(identifier, cancellationToken), cancellationToken);

    public ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken) =>
        RevokeAllAsync(FindBySubjectAsync(subject, cancellationToken), cancellationToken);

    private async ValueTask<long> RevokeAllAsync(IAsyncEnumerable<LoginToken> tokens, CancellationToken cancellationToken)
    {
        long revoked = 0;
        await foreach (var token in tokens)
        {
            if (token.Status != OpenIddictConstants.Statuses.Revoked)
            {
                token.Status = OpenIddictConstants.Statuses.Revoked;
                await UpdateAsync(token, cancellationToken);
                revoked++;
            }
        }

        return revoked;
    }

    /// <summary>
    /// A revocation wins over any change it raced with (a legitimate refresh at another site, say): on a
    /// compare-and-set conflict it is applied again to the newest copy. Any other change that loses the
    /// race fails, which is what makes a code or refresh token redeemable once, even when sites redeem it
    /// at the same instant: the compare-and-set is decided by the bucket's leader, and exactly one of
    /// several writers at different sites wins it (EngineTests; nats-server 2.9.10 let two win, and a
    /// claim of its own appended to the log was needed then).
    /// </summary>
    public override async ValueTask UpdateAsync(LoginToken token, CancellationToken cancellationToken)
    {
        await IndexReferenceAsync(token, cancellationToken);
        try
        {
            await Entities.UpdateLettingRevocationWinAsync(token, cancellationToken);
        }
        catch (OpenIddictExceptions.ConcurrencyException) when (token.Status == OpenIddictConstants.Statuses.Redeemed)
        {
            // Redeemed at another site at the same moment. OpenIddict ignores a lost redemption of a refresh
            // token (it allows concurrent refreshes); RejectConcurrentRefresh reads this and treats it as the
            // reuse it is.
            if (http?.HttpContext is { } context)
            {
                context.Items[LostRedemption] = token.AuthorizationId ?? "";
            }

            throw;
        }
    }

    public override async ValueTask DeleteAsync(LoginToken token, CancellationToken cancellationToken)
    {
        await base.DeleteAsync(token, cancellationToken);
        if (token.ReferenceId is not null)
        {
            await DropIndexAsync(ReferenceIndex(token.ReferenceId), cancellationToken);
        }
    }

    public ValueTask SetApplicationIdAsync(LoginToken token, string? identifier, CancellationToken cancellationToken) => Set(() => token.ApplicationId = identifier);

    public ValueTask SetAuthorizationIdAsync(LoginToken token, string? identifier, CancellationToken cancellationToken)
    {
        if (token.Id is not null && token.AuthorizationId != identifier)
        {
            throw new InvalidOperationException("A token's authorization is part of its key and cannot change.");
        }

        return Set(() => token.AuthorizationId = identifier);
    }

    public ValueTask SetCreationDateAsync(LoginToken token, DateTimeOffset? date, CancellationToken cancellationToken) => Set(() => token.CreationDate = date);

    public ValueTask SetExpirationDateAsync(LoginToken token, DateTimeOffset? date, CancellationToken cancellationToken) => Set(() => token.ExpirationDate = date);

    public ValueTask SetPayloadAsync(LoginToken token, string? payload, CancellationToken cancellationToken) => Set(() => token.Payload = payload);

    public ValueTask SetPropertiesAsync(LoginToken token, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) => Set(() => token.Properties = properties);

    public ValueTask SetRedemptionDateAsync(LoginToken token, DateTimeOffset? date, CancellationToken cancellationToken) => Set(() => token.RedemptionDate = date);

    public ValueTask SetReferenceIdAsync(LoginToken token, string? identifier, CancellationToken cancellationToken) => Set(() => token.ReferenceId = identifier);

    public ValueTask SetStatusAsync(LoginToken token, string? status, CancellationToken cancellationToken) => Set(() => token.Status = status);

    public ValueTask SetSubjectAsync(LoginToken token, string? subject, CancellationToken cancellationToken) => Set(() => token.Subject = subject);

    public ValueTask SetTypeAsync(LoginToken token, string? type, CancellationToken cancellationToken) => Set(() => token.Type = type);
}
