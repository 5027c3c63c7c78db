namespace Haetae.Platform;

/// <summary>
/// A hold on a person's wallet for a shop's till, as the kit shows it to services that are not pay (gift
/// vouchers hold the price until redemption; rides hold until the fare is known). <paramref name="Settlement"/>
/// is null while the money is held.
/// </summary>
public sealed record PaymentHold(string Id, string PayerId, string MerchantId, long Amount, string Code, DateTimeOffset At, PaymentSettlement? Settlement);

/// <summary>How a hold was settled, once: <paramref name="Captured"/> won went to the shop, the rest back to the payer.</summary>
public sealed record PaymentSettlement(string Id, long Captured, string Code, DateTimeOffset At);

/// <summary>A shop, as pay keeps it: its till is where the money of its holds goes.</summary>
public sealed record Shop(string Id, string Name, string OwnerId);

/// <summary>
/// The kit's way for other services to take money through pay; the pay module provides it. Ids are the
/// caller's, derived from its request ids: a retry with the same id returns the first result, and the
/// ledger settles a hold once, whoever settles it from whichever site at the same instant.
/// </summary>
public interface IPayments
{
    /// <summary>Opens (once) a shop a platform service keeps itself, as rides keeps the fares' till; opening it again returns it.</summary>
    Task<Shop> OpenServiceShopAsync(string merchantId, string name, CancellationToken cancellationToken);

    /// <summary>The shop, read from its leader; null when there is none.</summary>
    Task<Shop?> ShopAsync(string merchantId, CancellationToken cancellationToken);

    /// <summary>
    /// Holds <paramref name="amount"/> won of <paramref name="payerId"/>'s wallet for the shop's till (opening
    /// the wallet if need be). <paramref name="expires"/>: when pay releases it by itself if nobody settled
    /// it; null: it is held until the caller settles it. Refuses (an ApiProblem, 4xx) a wallet that does not
    /// hold enough, and an id used already for another hold; nothing is held then.
    /// </summary>
    Task<PaymentHold> HoldAsync(string holdId, string payerId, string merchantId, long amount, string code, DateTimeOffset? expires, CancellationToken cancellationToken);

    /// <summary>The hold, and how it was settled; null when there is no hold with this id.</summary>
    Task<PaymentHold?> FindHoldAsync(string holdId, CancellationToken cancellationToken);

    /// <summary>
    /// Settles the hold once: <paramref name="capture"/> won to the shop (0: all of it back to the payer).
    /// Returns the settlement that won: this one (now, or on an earlier try with the same
    /// <paramref name="settlementId"/>) or another that came first; the caller compares ids.
    /// </summary>
    Task<PaymentSettlement> SettleAsync(string holdId, string settlementId, long capture, string code, CancellationToken cancellationToken);
}
