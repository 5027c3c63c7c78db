namespace Haetae.Pay.Tests;

/// <summary>The ledger's rules without a cluster: what a transfer does to two accounts, and what it may not do.</summary>
public sealed class LedgerRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly AccountState Bank = AccountState.Open("bank", AccountFlags.None);
    private static readonly AccountState Wallet = AccountState.Open("w-minji", AccountFlags.DebitsMustNotExceedCredits);
    private static readonly AccountState Shop = AccountState.Open("m-cafe", AccountFlags.DebitsMustNotExceedCredits);

    private static Transfer Move(string id, AccountState from, AccountState to, long amount, TransferKind kind = TransferKind.Posted, string? pending = null, DateTimeOffset? expires = null) =>
        new(id, from.Id, to.Id, amount, kind, "test", T0, pending, expires);

    private static Refusal RefusedFor(Action act) => Assert.Throws<LedgerRefusal>(act).Reason;

    [Fact]
    public void A_top_up_moves_money_from_the_bank_which_may_go_negative_and_the_sum_stays_zero()
    {
        var (bank, wallet) = LedgerRules.Apply(Bank, Wallet, Move("t1", Bank, Wallet, 50_000), null, T0);

        Assert.Equal((-50_000L, 50_000L), (bank.Balance, wallet.Balance));
        Assert.Equal(0, bank.Balance + wallet.Balance);
    }

    [Fact]
    public void A_wallet_never_spends_more_than_it_holds()
    {
        var (_, wallet) = LedgerRules.Apply(Bank, Wallet, Move("t1", Bank, Wallet, 10_000), null, T0);

        Assert.Equal(Refusal.ExceedsCredits, RefusedFor(() => LedgerRules.Apply(wallet, Shop, Move("t2", wallet, Shop, 10_001), null, T0)));
        var (spent, _) = LedgerRules.Apply(wallet, Shop, Move("t3", wallet, Shop, 10_000), null, T0);
        Assert.Equal(0, spent.Balance);
    }

    [Fact]
    public void A_hold_counts_against_what_can_be_spent_and_a_partial_capture_releases_the_rest()
    {
        var (_, wallet) = LedgerRules.Apply(Bank, Wallet, Move("t1", Bank, Wallet, 10_000), null, T0);
        var hold = Move("h1", wallet, Shop, 8_000, TransferKind.Pending, expires: T0.AddMinutes(10));
        var (held, shop) = LedgerRules.Apply(wallet, Shop, hold, null, T0);
        Assert.Equal((10_000L, 2_000L), (held.Balance, held.Available));
        Assert.Equal(Refusal.ExceedsCredits, RefusedFor(() => LedgerRules.Apply(held, Shop, Move("t2", held, Shop, 2_001), null, T0)));

        var (captured, paid) = LedgerRules.Apply(held, shop, Move("c1", held, shop, 6_500, TransferKind.PostPending, "h1"), hold, T0.AddMinutes(1));
        Assert.Equal((3_500L, 3_500L, 0L), (captured.Balance, captured.Available, captured.DebitsPending));
        Assert.Equal((6_500L, 0L), (paid.Balance, paid.CreditsPending));
    }

    [Fact]
    public void A_void_releases_the_whole_hold_and_moves_nothing()
    {
        var (_, wallet) = LedgerRules.Apply(Bank, Wallet, Move("t1", Bank, Wallet, 10_000), null, T0);
        var hold = Move("h1", wallet, Shop, 4_000, TransferKind.Pending);
        var (held, shop) = LedgerRules.Apply(wallet, Shop, hold, null, T0);

        var (released, untouched) = LedgerRules.Apply(held, shop, Move("v1", held, shop, 0, TransferKind.VoidPending, "h1"), hold, T0);
        Assert.Equal((10_000L, 10_000L), (released.Balance, released.Available));
        Assert.Equal((0L, 0L), (untouched.Balance, untouched.CreditsPending));
    }

    [Fact]
    public void A_capture_is_refused_beyond_the_hold_after_it_expired_or_between_other_accounts()
    {
        var (_, wallet) = LedgerRules.Apply(Bank, Wallet, Move("t1", Bank, Wallet, 10_000), null, T0);
        var hold = Move("h1", wallet, Shop, 4_000, TransferKind.Pending, expires: T0.AddMinutes(10));
        var (held, shop) = LedgerRules.Apply(wallet, Shop, hold, null, T0);

        Assert.Equal(Refusal.ExceedsPendingAmount, RefusedFor(() => LedgerRules.Apply(held, shop, Move("c1", held, shop, 4_001, TransferKind.PostPending, "h1"), hold, T0)));
        Assert.Equal(Refusal.PendingExpired, RefusedFor(() => LedgerRules.Apply(held, shop, Move("c2", held, shop, 100, TransferKind.PostPending, "h1"), hold, T0.AddMinutes(10))));
        Assert.Equal(Refusal.AccountsMustMatchPending, RefusedFor(() => LedgerRules.Apply(held, Bank, Move("c3", held, Bank, 100, TransferKind.PostPending, "h1"), hold, T0)));
        Assert.Equal(Refusal.PendingNotFound, RefusedFor(() => LedgerRules.Apply(held, shop, Move("c4", held, shop, 100, TransferKind.PostPending, "nope"), null, T0)));
        // An expired hold can still be voided (that is what expiry does).
        var (released, _) = LedgerRules.Apply(held, shop, Move("v1", held, shop, 0, TransferKind.VoidPending, "h1"), hold, T0.AddMinutes(11));
        Assert.Equal(10_000, released.Available);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void Zero_and_negative_amounts_are_refused(long amount) =>
        Assert.Equal(Refusal.AmountMustBePositive, RefusedFor(() => LedgerRules.Apply(Bank, Wallet, Move("t", Bank, Wallet, amount), null, T0)));

    [Fact]
    public void Amounts_too_large_to_be_real_and_totals_that_would_overflow_are_refused()
    {
        Assert.Equal(Refusal.AmountTooLarge, RefusedFor(() => LedgerRules.Apply(Bank, Wallet, Move("t", Bank, Wallet, LedgerRules.MaxAmount + 1), null, T0)));
        var full = Bank with { DebitsPosted = long.MaxValue - 10 };
        Assert.Equal(Refusal.Overflow, RefusedFor(() => LedgerRules.Apply(full, Wallet, Move("t", full, Wallet, 11), null, T0)));
        Assert.Equal(Refusal.SameAccount, RefusedFor(() => LedgerRules.Apply(Wallet, Wallet, Move("t", Wallet, Wallet, 1), null, T0)));
    }
}
