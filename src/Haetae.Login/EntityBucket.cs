using System.Security.Cryptography;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using OpenIddict.Abstractions;

namespace Haetae.Login;

/// <summary>What every stored login entity has: an id and the bucket revision it was read at (its concurrency token).</summary>
internal abstract class LoginEntity
{
    public string? Id { get; set; }

    /// <summary>The KV revision this copy was read at; a change is stored only if the entry is still at it.</summary>
    [JsonIgnore]
    public ulong Revision { get; set; }
}

/// <summary>
/// One kind of login entity (clients, scopes, authorizations, tokens) in a replicated bucket, under
/// KIND.ID keys. Reads go to the bucket's leader, so that a code redeemed or a token revoked at one
/// site is seen at once at every other; writes are compare-and-set on the revision read, which turns
/// two sites redeeming the same code at the same moment into one success and one
/// <see cref="OpenIddictExceptions.ConcurrencyException"/>. A store call that meets an election retries
/// until the new leader answers, within <see cref="ElectionBudget"/>.
/// </summary>
internal sealed partial class EntityBucket<T>(Buckets buckets, string bucket, string kind)
    where T : LoginEntity
{
    /// <summary>
    /// Longer than the engine's elections (4.7 to 8.6 s measured with nats-server 2.15.1), shorter than the
    /// time a login client waits for one answer (20 s in the drill's app), so a client hears the result
    /// or a 503 from the site it asked.
    /// </summary>
    public static readonly TimeSpan ElectionBudget = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan ListingTimeout = TimeSpan.FromSeconds(5);

    public Key<T> Key(string id) => new($"{kind}.{id}");

    public async ValueTask<T?> FindAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsKeyPart(id))
        {
            return null;
        }

        var found = await StoreRetry.ThroughElectionAsync(
            async () => await (await buckets.GetAsync(bucket)).GetFromLeaderAsync(Key(id), cancellationToken), cancellationToken);
        if (found is null)
        {
            return null;
        }

        found.Value.Revision = found.Revision;
        return found.Value;
    }

    /// <summary>Every entity whose id matches <paramref name="idFilter"/> (a subject filter such as "SUBJECT.*"; "&gt;" for all).</summary>
    public async IAsyncEnumerable<T> ListAsync(string idFilter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var keys = await StoreRetry.ThroughElectionAsync(async () =>
        {
            // A key listing is a consumer that runs until it has caught up; unlike a request it has no
            // time-out of its own, so each attempt gets one.
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(ListingTimeout);
            var list = new List<string>();
            try
            {
                await foreach (var key in (await buckets.GetAsync(bucket)).KeysAsync($"{kind}.{idFilter}", attempt.Token))
                {
                    list.Add(key);
                }
            }
            catch (OperationCanceledException) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"listing {kind}.{idFilter} took longer than {ListingTimeout.TotalSeconds:0} s");
            }

            return list;
        }, cancellationToken);

        foreach (var key in keys)
        {
            if (await FindAsync(key[(kind.Length + 1)..], cancellationToken) is { } entity)
            {
                yield return entity;
            }
        }
    }

    public async ValueTask CreateAsync(T entity, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(entity.Id);
        entity.Revision = await StoreRetry.ThroughElectionAsync(
            async () => await (await buckets.GetAsync(bucket)).CreateAsync(Key(entity.Id), entity, cancellationToken), cancellationToken)
            ?? throw new OpenIddictExceptions.ConcurrencyException($"{kind} {entity.Id} exists already.");
    }

    public async ValueTask UpdateAsync(T entity, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(entity.Id);
        entity.Revision = await StoreRetry.ThroughElectionAsync(
            async () => await (await buckets.GetAsync(bucket)).ReplaceAsync(Key(entity.Id), entity, entity.Revision, cancellationToken), cancellationToken)
            ?? throw new OpenIddictExceptions.ConcurrencyException($"{kind} {entity.Id} was changed by someone else.");
    }

    /// <summary>
    /// Stores a change; a revocation wins over any change it raced with: on a compare-and-set conflict it
    /// is applied again to the newest copy. Any other change that loses the race fails, which is what
    /// makes a code or refresh token redeemable once.
    /// </summary>
    public async ValueTask UpdateLettingRevocationWinAsync(T entity, CancellationToken cancellationToken)
    {
        try
        {
            await UpdateAsync(entity, cancellationToken);
        }
        catch (OpenIddictExceptions.ConcurrencyException) when (((IRevocable)entity).Status == OpenIddictConstants.Statuses.Revoked)
        {
            var revoked = await StoreRetry.Conflicts<bool>(20).ExecuteAsync(async ct =>
            {
                var current = await FindAsync(entity.Id!, ct);
                if (current is null || ((IRevocable)current).Status == OpenIddictConstants.Statuses.Revoked)
                {
                    return Conflicted<bool>.Done(true);
                }

                ((IRevocable)current).Status = OpenIddictConstants.Statuses.Revoked;
                try
                {
                    await UpdateAsync(current, ct);
                    entity.Revision = current.Revision;
                    return Conflicted<bool>.Done(true);
                }
                catch (OpenIddictExceptions.ConcurrencyException)
                {
                    return Conflicted<bool>.Lost;
                }
            }, cancellationToken);
            if (revoked.Conflict)
            {
                throw new OpenIddictExceptions.ConcurrencyException($"{kind} {entity.Id} kept changing while it was revoked.");
            }
        }
    }

    public async ValueTask DeleteAsync(T entity, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(entity.Id);
        await StoreRetry.ThroughElectionAsync(async () =>
        {
            await (await buckets.GetAsync(bucket)).DeleteAsync(Key(entity.Id), cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>Ids and index keys are KV key tokens: letters, digits, '-' and '_'.</summary>
    public static bool IsKeyPart(string? value) => value is { Length: > 0 and <= 200 } && Id().IsMatch(value);

    /// <summary>A value as a KV key token: itself when it is one, else a hash of it.</summary>
    public static string KeyPartOf(string value) =>
        value.Length <= 64 && Token().IsMatch(value) ? value : RequestIds.Derive("h", 40, value);

    public static string NewId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();

    /// <summary>An id: one key token, or two joined by a dot (a token's authorization, an authorization's subject).</summary>
    [GeneratedRegex("^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)?$")]
    private static partial Regex Id();

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex Token();
}
