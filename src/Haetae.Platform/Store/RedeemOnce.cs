namespace Haetae.Platform.Store;

/// <summary>How a redemption went: <see cref="Won"/> by this redeemer (now or on an earlier try, with the first result), or taken by another.</summary>
public sealed record RedeemOutcome<T>(bool Won, string RedeemedBy, DateTimeOffset RedeemedAt, T Result);

/// <summary>The stored redemption of one key: who redeemed it, when, and what it gave them.</summary>
public sealed record Redemption<T>(string By, DateTimeOffset At, T Result);

/// <summary>
/// Redeem exactly once across sites (a login code, a gift voucher): the first redeemer of a key wins with
/// a create-if-absent that the bucket's leader decides, so of several redeemers at different sites at the
/// same instant exactly one wins. The winner's retry (same redeemer id, from any site) returns its first
/// result; everyone else learns who won. Nothing is ever redeemed twice and nothing is overwritten.
/// </summary>
public sealed class RedeemOnce<T>(Buckets buckets, string bucket, string keyPrefix, TimeProvider time)
{
    /// <summary>Redeems <paramref name="key"/> for <paramref name="redeemer"/>; <paramref name="result"/> is made only by an attempt that may win.</summary>
    public async Task<RedeemOutcome<T>> RedeemAsync(string key, string redeemer, Func<T> result, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(bucket);
        var entryKey = new Key<Redemption<T>>(keyPrefix + key);
        var mine = new Redemption<T>(redeemer, time.GetUtcNow(), result());
        if (await StoreRetry.ThroughElectionAsync(async () => await store.CreateAsync(entryKey, mine, cancellationToken), cancellationToken) is not null)
        {
            return new RedeemOutcome<T>(true, redeemer, mine.At, mine.Result);
        }

        // Taken: by this redeemer on an earlier try (its first result stands), or by someone else.
        var stored = await StoreRetry.ThroughElectionAsync(async () => await store.GetFromLeaderAsync(entryKey, cancellationToken), cancellationToken)
            ?? throw new Hosting.ApiProblem(503, "Store busy", "the redemption could not be read back; retry with the same request id");
        return new RedeemOutcome<T>(stored.Value.By == redeemer, stored.Value.By, stored.Value.At, stored.Value.Result);
    }

    /// <summary>The redemption of <paramref name="key"/>, if any (from the leader).</summary>
    public async Task<Redemption<T>?> FindAsync(string key, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(bucket);
        return (await StoreRetry.ThroughElectionAsync(async () => await store.GetFromLeaderAsync(new Key<Redemption<T>>(keyPrefix + key), cancellationToken), cancellationToken))?.Value;
    }
}
