using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using Haetae.Platform.Store;
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
            async () => await (await buckets.GetAsync(bucket)).TryCreateAsync(new Key<IndexEntry>(indexKey), new IndexEntry(id), cancellationToken), cancellationToken);
        if (!claimed)
        {
            var existing = await ReadIndexAsync(indexKey, cancellationToken);
            if (existing != id && (existing is null || await Entities.FindAsync(existing, cancellationToken) is not null))
            {
                throw new OpenIddictExceptions.ConcurrencyException($"{indexKey} is taken.");
            }

            // The entity it named is gone: the name is free again.
            await StoreRetry.ThroughElectionAsync(
                async () => await (await buckets.GetAsync(bucket)).PutAsync(new Key<IndexEntry>(indexKey), new IndexEntry(id), cancellationToken), cancellationToken);
        }
    }

    protected async ValueTask<string?> ReadIndexAsync(string indexKey, CancellationToken cancellationToken) =>
        (await StoreRetry.ThroughElectionAsync(
            async () => await (await buckets.GetAsync(bucket)).GetFromLeaderAsync(new Key<IndexEntry>(indexKey), cancellationToken), cancellationToken))?.Value.Id;

    protected async ValueTask<T?> FindByIndexAsync(string indexKey, CancellationToken cancellationToken) =>
        await ReadIndexAsync(indexKey, cancellationToken) is { } id && await Entities.FindAsync(id, cancellationToken) is { } entity ? entity : null;

    protected ValueTask DropIndexAsync(string indexKey, CancellationToken cancellationToken) =>
        new(StoreRetry.ThroughElectionAsync(async () =>
        {
            await (await buckets.GetAsync(bucket)).DeleteAsync(new Key<IndexEntry>(indexKey), cancellationToken);
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
