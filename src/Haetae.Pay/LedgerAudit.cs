using System.Text.Json;
using Haetae.Contracts;

namespace Haetae.Pay;

/// <summary>What the audit found: how much it read, the sum of all balances, and every rule broken (none, for a sound ledger).</summary>
public sealed record AuditReport(int Transfers, int Accounts, int Entries, long SumOfBalances, long PendingHeld, IReadOnlyList<string> Violations)
{
    public bool Sound => Violations.Count == 0;
}

/// <summary>
/// Reads the whole ledger in stream order and checks it from first principles: every transfer id used
/// once and written in both of its accounts, and only there (double entry); every account's entries a
/// chain from its opening (each naming the one before) in which each entry is the one before plus its transfer, as the rules compute
/// it; no account that may not go negative ever did, at any entry; each hold settled at most once; and
/// the balances of all accounts sum to zero, with pending debits equal to pending credits.
/// </summary>
public static class LedgerAudit
{
    public static AuditReport Check(IEnumerable<LedgerMessage> messages)
    {
        var violations = new List<string>();
        var transfers = new Dictionary<string, Transfer>();
        var legs = new Dictionary<string, List<string>>();
        var accounts = new Dictionary<string, AccountState>();
        var newest = new Dictionary<string, ulong>();
        var settled = new HashSet<string>();
        var entries = 0;
        foreach (var message in messages)
        {
            var parts = message.Subject.Split('.', 3);
            if (parts is not ["pay", var kind, var id])
            {
                violations.Add($"#{message.Sequence}: a message on {message.Subject}, which is no ledger subject");
                continue;
            }

            switch (kind)
            {
                case "xfer":
                    var transfer = JsonSerializer.Deserialize<Transfer>(message.Data.Span, HaetaeJson.Options)!;
                    if (!transfers.TryAdd(id, transfer))
                    {
                        violations.Add($"#{message.Sequence}: transfer {id} written a second time");
                    }

                    legs.TryAdd(id, []);
                    break;
                case "done":
                    if (!settled.Add(id))
                    {
                        violations.Add($"#{message.Sequence}: hold {id} settled a second time");
                    }

                    break;
                case "acct":
                    entries++;
                    var entry = JsonSerializer.Deserialize<AccountEntry>(message.Data.Span, HaetaeJson.Options)!;
                    if (entry.Previous != newest.GetValueOrDefault(id))
                    {
                        violations.Add($"#{message.Sequence} ({id}): the entry follows #{entry.Previous}, but the account's entry before it is #{newest.GetValueOrDefault(id)}");
                    }

                    newest[id] = message.Sequence;
                    Entry(message, id, entry, transfers, legs, accounts, violations);
                    break;
                default:
                    violations.Add($"#{message.Sequence}: a message on {message.Subject}, which is no ledger subject");
                    break;
            }
        }

        foreach (var (id, written) in legs)
        {
            var transfer = transfers[id];
            if (written.Count != 2 || !written.Contains(transfer.DebitAccount) || !written.Contains(transfer.CreditAccount))
            {
                violations.Add($"transfer {id} is in [{string.Join(", ", written)}], not in exactly its two accounts {transfer.DebitAccount} and {transfer.CreditAccount}");
            }
        }

        var sum = accounts.Values.Sum(a => a.Balance);
        if (sum != 0)
        {
            violations.Add($"the balances of all accounts sum to ₩{sum:N0}, not 0");
        }

        var (debitsPending, creditsPending) = (accounts.Values.Sum(a => a.DebitsPending), accounts.Values.Sum(a => a.CreditsPending));
        if (debitsPending != creditsPending)
        {
            violations.Add($"pending debits ₩{debitsPending:N0} differ from pending credits ₩{creditsPending:N0}");
        }

        return new AuditReport(transfers.Count, accounts.Count, entries, sum, debitsPending, violations);
    }

    private static void Entry(
        LedgerMessage message, string accountId, AccountEntry entry, Dictionary<string, Transfer> transfers, Dictionary<string, List<string>> legs,
        Dictionary<string, AccountState> accounts, List<string> violations)
    {
        var at = $"#{message.Sequence} ({accountId})";
        if (entry.State.Id != accountId)
        {
            violations.Add($"{at}: the entry names account {entry.State.Id}");
        }

        if (entry.State.Flags.HasFlag(AccountFlags.DebitsMustNotExceedCredits) && entry.State.Available < 0)
        {
            violations.Add($"{at}: below zero (₩{entry.State.Available:N0} available)");
        }

        if (!accounts.TryGetValue(accountId, out var before))
        {
            if (entry.TransferId is not null || entry.State != AccountState.Open(accountId, entry.State.Flags))
            {
                violations.Add($"{at}: the first entry is not an opening at zero");
            }

            accounts[accountId] = entry.State;
            return;
        }

        if (entry.TransferId is null || !transfers.TryGetValue(entry.TransferId, out var transfer))
        {
            violations.Add($"{at}: an entry for transfer {entry.TransferId ?? "(none)"}, which was not written before it");
            accounts[accountId] = entry.State;
            return;
        }

        legs[transfer.Id].Add(accountId);
        var hold = transfer.PendingId is { } pendingId ? transfers.GetValueOrDefault(pendingId) : null;
        // The rules applied to this account's previous totals; the other side is an unconstrained stand-in.
        var other = AccountState.Open("audit-other", AccountFlags.None);
        AccountState expected;
        try
        {
            expected = transfer.DebitAccount == accountId
                ? LedgerRules.Apply(before with { Flags = AccountFlags.None }, other, transfer, hold, entry.At).Debit with { Flags = before.Flags }
                : LedgerRules.Apply(other, before, transfer, hold, entry.At).Credit;
        }
        catch (LedgerRefusal e)
        {
            violations.Add($"{at}: transfer {transfer.Id} should have been refused: {e.Message}");
            accounts[accountId] = entry.State;
            return;
        }

        if (entry.State != expected)
        {
            violations.Add($"{at}: after transfer {transfer.Id} the totals are {entry.State}, the rules give {expected}");
        }

        accounts[accountId] = entry.State;
    }
}
