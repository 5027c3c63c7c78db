namespace Haetae.Pay;

/// <summary>What an account allows. Wallets may not spend more than they hold; the bank's and the system's accounts may go below zero.</summary>
[Flags]
public enum AccountFlags
{
    None = 0,

    /// <summary>Debits (posted and pending) never exceed posted credits: the balance never goes negative.</summary>
    DebitsMustNotExceedCredits = 1,
}

/// <summary>
/// An account's totals after its newest entry, in won (TigerBeetle's four counters). The sum over all
/// accounts of <see cref="Balance"/> is zero, since every transfer adds the same amount to one account's
/// debits and another's credits.
/// </summary>
public sealed record AccountState(string Id, AccountFlags Flags, long DebitsPending, long DebitsPosted, long CreditsPending, long CreditsPosted)
{
    public static AccountState Open(string id, AccountFlags flags) => new(id, flags, 0, 0, 0, 0);

    /// <summary>Credits minus debits, posted only.</summary>
    public long Balance => CreditsPosted - DebitsPosted;

    /// <summary>What can be spent now: the balance less what pending transfers hold.</summary>
    public long Available => CreditsPosted - DebitsPosted - DebitsPending;
}

/// <summary>What a transfer does: moves money at once, holds it (pending), or settles a hold (post: all or part of it; void: none).</summary>
public enum TransferKind
{
    Posted,
    Pending,
    PostPending,
    VoidPending,
}

/// <summary>
/// One transfer, never changed once written. <paramref name="Id"/> is the client's: a second transfer
/// with the same id is the same transfer. A <see cref="TransferKind.PostPending"/> or
/// <see cref="TransferKind.VoidPending"/> names its hold in <paramref name="PendingId"/> and moves money
/// between the hold's two accounts; a post's amount is at most the hold's. <paramref name="UserData"/> is
/// the service's own reference, as TigerBeetle's user_data (the chat an envelope was sent in).
/// </summary>
public sealed record Transfer(
    string Id, string DebitAccount, string CreditAccount, long Amount, TransferKind Kind, string Code, DateTimeOffset At,
    string? PendingId = null, DateTimeOffset? Expires = null, string? UserData = null);

/// <summary>Why the ledger refuses a transfer; nothing is written for a refused one.</summary>
public enum Refusal
{
    AccountNotFound,
    AmountMustBePositive,
    AmountTooLarge,
    SameAccount,
    AccountsMustMatchPending,
    PendingNotFound,
    PendingAlreadyResolved,
    PendingExpired,
    ExceedsPendingAmount,
    ExceedsCredits,
    Overflow,
}

/// <summary>A transfer the ledger refused, and why.</summary>
public sealed class LedgerRefusal(Refusal reason, string message) : Exception(message)
{
    public Refusal Reason { get; } = reason;
}

/// <summary>The ledger's rules as plain functions: what a transfer does to its two accounts, or why it may not.</summary>
public static class LedgerRules
{
    /// <summary>The largest amount of one transfer: ₩1,000,000,000,000, far below where a sum of them could overflow.</summary>
    public const long MaxAmount = 1_000_000_000_000;

    /// <summary>
    /// The two accounts after <paramref name="transfer"/>. A post or void needs its hold
    /// (<paramref name="pending"/>), not yet resolved (the store writes the resolution once); <paramref name="now"/>
    /// decides whether the hold has expired.
    /// </summary>
    public static (AccountState Debit, AccountState Credit) Apply(AccountState debit, AccountState credit, Transfer transfer, Transfer? pending, DateTimeOffset now)
    {
        if (transfer.Amount <= 0 && transfer.Kind is TransferKind.Posted or TransferKind.Pending)
        {
            throw new LedgerRefusal(Refusal.AmountMustBePositive, "the amount must be at least ₩1");
        }

        if (transfer.Amount > MaxAmount)
        {
            throw new LedgerRefusal(Refusal.AmountTooLarge, $"the amount must be at most ₩{MaxAmount:N0}");
        }

        if (debit.Id == credit.Id)
        {
            throw new LedgerRefusal(Refusal.SameAccount, "the debit and credit accounts must differ");
        }

        try
        {
            return transfer.Kind switch
            {
                TransferKind.Posted => (
                    Spend(debit with { DebitsPosted = checked(debit.DebitsPosted + transfer.Amount) }),
                    credit with { CreditsPosted = checked(credit.CreditsPosted + transfer.Amount) }),
                TransferKind.Pending => (
                    Spend(debit with { DebitsPending = checked(debit.DebitsPending + transfer.Amount) }),
                    credit with { CreditsPending = checked(credit.CreditsPending + transfer.Amount) }),
                _ => Settle(debit, credit, transfer, Hold(transfer, pending, now)),
            };
        }
        catch (OverflowException)
        {
            throw new LedgerRefusal(Refusal.Overflow, "the account's totals would overflow");
        }
    }

    private static Transfer Hold(Transfer transfer, Transfer? pending, DateTimeOffset now)
    {
        if (pending is null || pending.Kind != TransferKind.Pending)
        {
            throw new LedgerRefusal(Refusal.PendingNotFound, $"no hold {transfer.PendingId}");
        }

        if (pending.DebitAccount != transfer.DebitAccount || pending.CreditAccount != transfer.CreditAccount)
        {
            throw new LedgerRefusal(Refusal.AccountsMustMatchPending, "a hold is settled between its own two accounts");
        }

        if (transfer.Kind == TransferKind.PostPending && pending.Expires is { } expires && now >= expires)
        {
            throw new LedgerRefusal(Refusal.PendingExpired, $"hold {pending.Id} expired at {expires:u}");
        }

        if (transfer.Kind == TransferKind.PostPending && (transfer.Amount <= 0 || transfer.Amount > pending.Amount))
        {
            throw new LedgerRefusal(Refusal.ExceedsPendingAmount, $"a capture is ₩1 to ₩{pending.Amount:N0}, the amount held");
        }

        return pending;
    }

    // The hold's whole amount leaves "pending"; what is posted (all, part or nothing) becomes posted.
    private static (AccountState, AccountState) Settle(AccountState debit, AccountState credit, Transfer transfer, Transfer hold)
    {
        var posted = transfer.Kind == TransferKind.PostPending ? transfer.Amount : 0;
        return (
            debit with { DebitsPending = debit.DebitsPending - hold.Amount, DebitsPosted = checked(debit.DebitsPosted + posted) },
            credit with { CreditsPending = credit.CreditsPending - hold.Amount, CreditsPosted = checked(credit.CreditsPosted + posted) });
    }

    private static AccountState Spend(AccountState debit) =>
        debit.Flags.HasFlag(AccountFlags.DebitsMustNotExceedCredits) && debit.DebitsPending + debit.DebitsPosted > debit.CreditsPosted
            ? throw new LedgerRefusal(Refusal.ExceedsCredits, "not enough money in the account")
            : debit;
}
