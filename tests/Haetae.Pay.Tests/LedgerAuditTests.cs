using System.Text.Json;
using Haetae.Contracts;

namespace Haetae.Pay.Tests;

/// <summary>The audit without a cluster: a ledger written by the rules is sound, and each kind of damage is found.</summary>
public sealed class LedgerAuditTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Writes messages as the ledger does: the transfer first, then both accounts' new totals, then a settled hold.</summary>
    private sealed class Books
    {
        private readonly Dictionary<string, AccountState> _accounts = [];
        private readonly Dictionary<string, Transfer> _transfers = [];
        private readonly Dictionary<string, ulong> _newest = [];
        private ulong _sequence;

        public List<LedgerMessage> Messages { get; } = [];

        public ulong Emit<T>(string subject, T value)
        {
            Messages.Add(new(subject, ++_sequence, JsonSerializer.SerializeToUtf8Bytes(value, HaetaeJson.Options)));
            return _sequence;
        }

        private void Write(string account, AccountState state, string? transferId) =>
            _newest[account] = Emit(Ledger.AccountSubject(account), new AccountEntry(state, transferId, T0, _newest.GetValueOrDefault(account)));

        public Books Open(string id, AccountFlags flags = AccountFlags.DebitsMustNotExceedCredits)
        {
            _accounts[id] = AccountState.Open(id, flags);
            Write(id, _accounts[id], null);
            return this;
        }

        public Books Move(string id, string from, string to, long amount, TransferKind kind = TransferKind.Posted, string? pending = null)
        {
            var transfer = new Transfer(id, from, to, amount, kind, "test", T0, pending);
            var hold = pending is null ? null : _transfers[pending];
            var (debit, credit) = LedgerRules.Apply(_accounts[from], _accounts[to], transfer, hold, T0);
            Emit(Ledger.TransferSubject(id), transfer);
            Write(from, debit, id);
            Write(to, credit, id);
            if (hold is not null)
            {
                Emit(Ledger.ResolutionSubject(hold.Id), id);
            }

            (_accounts[from], _accounts[to], _transfers[id]) = (debit, credit, transfer);
            return this;
        }
    }

    private static Books Sample() => new Books().Open("bank", AccountFlags.None).Open("minji").Open("cafe")
        .Move("t1", "bank", "minji", 30_000)
        .Move("t2", "minji", "cafe", 7_000)
        .Move("h1", "minji", "cafe", 10_000, TransferKind.Pending)
        .Move("c1", "minji", "cafe", 6_000, TransferKind.PostPending, "h1");

    [Fact]
    public void A_ledger_written_by_the_rules_is_sound()
    {
        var report = LedgerAudit.Check(Sample().Messages);

        Assert.Empty(report.Violations);
        Assert.Equal((4, 3, 11, 0L, 0L), (report.Transfers, report.Accounts, report.Entries, report.SumOfBalances, report.PendingHeld));
    }

    [Fact]
    public void Totals_that_are_not_the_fold_of_the_transfers_are_found()
    {
        var books = Sample();
        var last = books.Messages.FindLastIndex(m => m.Subject == Ledger.AccountSubject("cafe"));
        var entry = JsonSerializer.Deserialize<AccountEntry>(books.Messages[last].Data.Span, HaetaeJson.Options)!;
        books.Messages[last] = books.Messages[last] with { Data = JsonSerializer.SerializeToUtf8Bytes(entry with { State = entry.State with { CreditsPosted = entry.State.CreditsPosted + 1 } }, HaetaeJson.Options) };

        var report = LedgerAudit.Check(books.Messages);

        Assert.Contains(report.Violations, v => v.Contains("after transfer c1", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.Contains("sum to ₩1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_transfer_written_twice_a_missing_leg_a_hold_settled_twice_and_a_wallet_below_zero_are_found()
    {
        var books = Sample();
        books.Emit(Ledger.TransferSubject("t2"), new Transfer("t2", "minji", "cafe", 7_000, TransferKind.Posted, "test", T0));
        books.Emit(Ledger.ResolutionSubject("h1"), "c2");
        books.Emit(Ledger.TransferSubject("t9"), new Transfer("t9", "minji", "cafe", 100, TransferKind.Posted, "test", T0));
        var minjiLast = books.Messages.Last(m => m.Subject == Ledger.AccountSubject("minji")).Sequence;
        books.Emit(Ledger.AccountSubject("minji"), new AccountEntry(new AccountState("minji", AccountFlags.DebitsMustNotExceedCredits, 0, 40_000, 0, 30_000), "t9", T0, minjiLast));

        var report = LedgerAudit.Check(books.Messages);

        Assert.Contains(report.Violations, v => v.Contains("transfer t2 written a second time", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.Contains("hold h1 settled a second time", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.Contains("transfer t9 is in [minji]", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.Contains("below zero", StringComparison.Ordinal));
    }

    [Fact]
    public void An_entry_that_does_not_follow_its_accounts_previous_one_is_found()
    {
        var books = Sample();
        var first = books.Messages.FindIndex(m => m.Subject == Ledger.AccountSubject("cafe") && m.Sequence > 3);
        var entry = JsonSerializer.Deserialize<AccountEntry>(books.Messages[first].Data.Span, HaetaeJson.Options)!;
        books.Messages[first] = books.Messages[first] with { Data = JsonSerializer.SerializeToUtf8Bytes(entry with { Previous = 1 }, HaetaeJson.Options) };

        Assert.Contains(LedgerAudit.Check(books.Messages).Violations, v => v.Contains("follows #1", StringComparison.Ordinal));
    }
}
