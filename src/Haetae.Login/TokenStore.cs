using System.Collections.Immutable;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using OpenIddict.Abstractions;

namespace Haetae.Login;

internal sealed class TokenStore(Buckets buckets, TimeProvider time, Microsoft.AspNetCore.Http.IHttpContextAccessor? http = null)
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
            if (token.CreationDate < threshold && (token.Status != OpenIddictConstants.Statuses.Valid || token.ExpirationDate < time.GetUtcNow()))
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
    /// several writers at different sites wins it (EngineTests; docs/known-issues.md).
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
