using Haetae.Contracts;
using Haetae.Platform.Store;

namespace Haetae.Gifts;

/// <summary>A product of a shop's catalog.</summary>
public sealed record ProductRecord(string Id, string MerchantId, string Shop, string Name, ProductKind Kind, long Price, bool Retired, DateTimeOffset Updated);

/// <summary>The products a shop keeps.</summary>
public sealed record ProductList(IReadOnlyList<string> Ids);

/// <summary>
/// A voucher as it was sold, never changed: what, from which shop, at what price, by whom for whom, its
/// code, and the date it was sold with. Where it stands (paid, held at a till, redeemed, refunded) is read
/// from the ledger and its claim; when it expires is that date moved by the outages recorded since.
/// </summary>
public sealed record VoucherRecord(
    string Id, string ProductId, string Product, string MerchantId, string Shop, ProductKind Kind, long Price, string BuyerId, string HolderId,
    string? ChatId, string RequestId, string Code, DateTimeOffset Issued, DateTimeOffset ValidUntil);

/// <summary>
/// A redemption started at a till: the claim on the voucher (<see cref="Claim"/>) names it while the
/// order is made. Written once, before the claim.
/// </summary>
public sealed record RedemptionRecord(string Id, string VoucherId, string MerchantId, DateTimeOffset Started);

/// <summary>A till's hold on a voucher: one at a time; a released or lapsed one may be replaced by the next till's.</summary>
public sealed record Claim(string RedemptionId, string MerchantId, DateTimeOffset Until, bool Released)
{
    public bool HoldsAt(DateTimeOffset now) => !Released && now < Until;
}

/// <summary>
/// The keys of the gifts bucket. A voucher being issued has an <c>issuing.</c> key (the whole sale, written
/// before the payment, so a sale cut short is finished or undone by the reconciler); a paid voucher not
/// yet redeemed or refunded has a <c>live.</c> key (the reconciler refunds it once it has expired).
/// </summary>
public static class GiftKeys
{
    public const string Bucket = "gifts";

    public static Key<ProductRecord> Product(string id) => new("product." + id);

    public static Key<ProductList> ShopProducts(string merchantId) => new("shop." + merchantId);

    public static Key<VoucherRecord> Voucher(string id) => new("voucher." + id);

    public static Key<string> Code(string code) => new("code." + code);

    public static Key<string> Held(string userId, string voucherId) => new($"held.{userId}.{voucherId}");

    public static string HeldBy(string userId) => $"held.{userId}.>";

    public static Key<VoucherRecord> Issuing(string voucherId) => new("issuing." + voucherId);

    public static Key<VoucherRecord> Live(string voucherId) => new("live." + voucherId);

    public static Key<RedemptionRecord> Redemption(string id) => new("redemption." + id);

    public static Key<Claim> Claim(string voucherId) => new("claim." + voucherId);

    /// <summary>The ledger hold that pays for the voucher: the price, held from the buyer's wallet for the shop.</summary>
    public static string HoldId(string voucherId) => voucherId + "-h";

    /// <summary>The settlement of a completed redemption: the whole price to the shop.</summary>
    public static string RedeemedId(string redemptionId) => redemptionId + "-c";

    /// <summary>The settlement after expiry: 10% to the shop, 90% back to the buyer.</summary>
    public static string ExpiredId(string voucherId) => voucherId + "-x";
}

/// <summary>Reads of the gifts bucket from its leader, waiting through an election: a replica that trails would miss a claim or a code written a moment before at another site.</summary>
public sealed class GiftStore(Buckets buckets)
{
    public Task<JsonBucket> BucketAsync() => buckets.GetAsync(GiftKeys.Bucket);

    public async Task<Versioned<T>?> ReadAsync<T>(Key<T> key, CancellationToken cancellationToken)
    {
        var store = await BucketAsync();
        return await StoreRetry.ThroughElectionAsync(() => store.GetFromLeaderAsync(key, cancellationToken), cancellationToken);
    }
}
