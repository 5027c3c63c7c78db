using System.Collections.Immutable;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace Haetae.Login;

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
