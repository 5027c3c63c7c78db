namespace Haetae.Contracts;

/// <summary>
/// The caller's wallet, in won: <paramref name="Balance"/> is what it holds, <paramref name="Available"/>
/// what can be spent now (the balance less <paramref name="Held"/>, money on its way out: envelopes not yet
/// accepted, withdrawals not yet paid out); <paramref name="Incoming"/> is on its way in (top-ups the bank has
/// not confirmed, envelopes to accept).
/// </summary>
public sealed record WalletView(long Balance, long Available, long Held, long Incoming);

/// <summary>A top-up from, or a withdrawal to, the caller's bank account.</summary>
public sealed record BankRequest(long Amount);

/// <summary>Where a top-up or withdrawal stands: pending while the bank has not answered, then done or refused (nothing moved).</summary>
public enum MoveState
{
    Pending,
    Done,
    Refused,
}

public sealed record BankMoveView(string Id, string Kind, long Amount, MoveState State, string? Reason);

/// <summary>Money for a friend: held from the sender until the receiver accepts it, or back to the sender after 48 hours.</summary>
public sealed record SendMoneyRequest(string? To, long Amount, string? ChatId = null);

public enum EnvelopeState
{
    /// <summary>Held from the sender's wallet, waiting for the receiver.</summary>
    Waiting,

    /// <summary>Accepted: in the receiver's wallet.</summary>
    Accepted,

    /// <summary>Declined by the receiver, or not accepted in time: back in the sender's wallet.</summary>
    Returned,
}

public sealed record EnvelopeView(string Id, string From, string To, long Amount, string? ChatId, EnvelopeState State, DateTimeOffset Expires);

/// <summary>The other side of a wallet's line: a person (named as the viewer sees them), the bank, or a merchant.</summary>
public sealed record Counterparty(string Kind, string? Id, string Name);

/// <summary>
/// One line of a wallet's history, newest first: <paramref name="Amount"/> is what it did to the balance
/// (signed), <paramref name="Held"/> what it did to money on its way in (+) or out (−); <paramref name="Code"/>
/// says what it was (topup, withdrawal, envelope, accepted, returned, ...).
/// </summary>
public sealed record HistoryItem(string TransferId, string Code, long Amount, long Held, Counterparty Counterparty, DateTimeOffset At);

/// <summary>A page of history; <paramref name="Next"/> asks for the page after it (null: no more).</summary>
public sealed record HistoryPage(IReadOnlyList<HistoryItem> Items, string? Next);

/// <summary>Open a shop (the caller keeps it).</summary>
public sealed record OpenMerchantRequest(string? Name);

/// <summary>A shop the caller keeps: what its till holds, and what payers have approved that it has not captured yet.</summary>
public sealed record MerchantView(string Id, string Name, long Balance, long Approved);

/// <summary>The till asks for a payment of this many won.</summary>
public sealed record ChargeRequest(long Amount);

/// <summary>Take all (no amount) or part of what the payer approved.</summary>
public sealed record CaptureRequest(long? Amount = null);

public sealed record RefundRequest(long Amount);

/// <summary>Where a payment at a shop stands: waiting for its payer, approved (held), captured, voided by the shop, or expired (the code, or the hold).</summary>
public enum ChargeState
{
    Open,
    Approved,
    Captured,
    Voided,
    Expired,
}

/// <summary>
/// A payment at a shop: the code the payer types in, who approved it (shown to the shop and the payer only),
/// what was captured and refunded, and when an approved hold goes back by itself.
/// </summary>
public sealed record ChargeView(
    string Id, string MerchantId, string MerchantName, long Amount, string Code, ChargeState State, string? PayerId, long Captured, long Refunded, DateTimeOffset? HoldExpires);
