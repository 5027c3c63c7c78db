namespace Haetae.Contracts;

/// <summary>What a voucher is for: one item (a coffee, a cake), or a fixed amount to spend at the shop.</summary>
public enum ProductKind
{
    Item,
    Amount,
}

/// <summary>A shop's keeper puts a product in the catalog: its name, kind and price in won.</summary>
public sealed record NewProductRequest(string? MerchantId, string? Name, ProductKind Kind, long Price);

/// <summary>The keeper changes a product's name or price, or takes it off sale (vouchers bought already stay valid).</summary>
public sealed record ProductChange(string? Name = null, long? Price = null, bool? Retired = null);

public sealed record ProductView(string Id, string MerchantId, string Shop, string Name, ProductKind Kind, long Price, bool Retired, DateTimeOffset Updated);

/// <summary>
/// Buy a voucher for <paramref name="To"/>, paid from the caller's wallet. <paramref name="Price"/> is the
/// price the buyer was shown: if it changed since, nothing is bought. With <paramref name="ChatId"/>, the
/// gift is sent as a message in that chat.
/// </summary>
public sealed record BuyGiftRequest(string? ProductId, long Price, string? To, string? ChatId = null);

/// <summary>
/// Where a voucher stands: being issued (its payment not yet written), ready to redeem, held at a shop's
/// till while the order is made, redeemed (the shop was paid), or refunded after its validity ended
/// (90% back to the buyer).
/// </summary>
public enum VoucherState
{
    Issuing,
    Active,
    Held,
    Redeemed,
    Refunded,
}

/// <summary>An outage recorded by the incident record that moved a voucher's expiry: by <paramref name="Seconds"/>, the part of it inside the validity.</summary>
public sealed record ValidityExtension(string IncidentId, DateTimeOffset From, DateTimeOffset To, double Seconds);

/// <summary>
/// A gift voucher. <paramref name="Code"/> is shown to its holder only (the shop types or scans it).
/// <paramref name="ValidUntil"/> is the date it was sold with; <paramref name="Expires"/> is that date moved
/// by every outage in <paramref name="Extensions"/>. <paramref name="Notice"/> says what to do when it
/// expires within 30 days. <paramref name="Refunded"/> is what went back to the buyer's wallet after expiry.
/// </summary>
public sealed record VoucherView(
    string Id, string ProductId, string Product, string MerchantId, string Shop, ProductKind Kind, long Price, string BuyerId, string HolderId,
    string? ChatId, string? Code, VoucherState State, DateTimeOffset Issued, DateTimeOffset ValidUntil, DateTimeOffset Expires,
    IReadOnlyList<ValidityExtension> Extensions, string? Notice, long Refunded, DateTimeOffset? SettledAt);

/// <summary>A shop's till redeems the voucher with this code (the shop is one the caller keeps).</summary>
public sealed record RedeemRequest(string? MerchantId, string? Code);

/// <summary>A redemption at a till: held while the order is made, then completed (the shop is paid) or released; a held one lapses by itself.</summary>
public enum RedemptionState
{
    Held,
    Completed,
    Released,
    Lapsed,
}

public sealed record RedemptionView(
    string Id, string VoucherId, string MerchantId, string Product, ProductKind Kind, long Price, RedemptionState State, DateTimeOffset Started, DateTimeOffset HoldUntil, DateTimeOffset? CompletedAt);
