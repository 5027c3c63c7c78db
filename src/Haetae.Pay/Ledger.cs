using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Pay;

/// <summary>
/// An account's entry: its totals after the transfer that wrote it (none for the opening entry), and the
/// stream sequence of the entry before it (0 for the opening), so a history pages back one read an entry.
/// </summary>
public sealed record AccountEntry(AccountState State, string? TransferId, DateTimeOffset At, ulong Previous = 0);

/// <summary>One line of an account's history: the entry, its stream sequence (the cursor of the next page back) and its transfer.</summary>
public sealed record HistoryLine(AccountEntry Entry, ulong Sequence, Transfer Transfer);

/// <summary>One message of the ledger's stream, as the audit reads it.</summary>
public sealed record LedgerMessage(string Subject, ulong Sequence, ReadOnlyMemory<byte> Data);

/// <summary>
/// The double-entry ledger in one replicated stream (<see cref="StreamName"/>, allow_atomic). Each account
/// is a subject whose newest message holds its totals; each transfer is a subject written once. A
/// transfer is one atomic batch: the transfer's subject (expected empty, so an id is used once, ever),
/// and both accounts' new totals, each expecting the account's newest message to be the one read. So a
/// transfer is applied whole or not at all, never twice, and never on totals another transfer changed
/// meanwhile (that one's batch is refused whole, and reads again). Settling a hold also writes the
/// hold's resolution subject, expected empty, so a hold is settled once.
/// </summary>
public sealed class Ledger(INatsConnection connection, TimeProvider time)
{
    public const string StreamName = "PAY";

    public static StreamAsset Asset { get; } = new(StreamName, ["pay.>"], AllowAtomic: true);

    public static string AccountSubject(string accountId) => $"pay.acct.{accountId}";

    public static string TransferSubject(string transferId) => $"pay.xfer.{transferId}";

    public static string ResolutionSubject(string pendingId) => $"pay.done.{pendingId}";

    /// <summary>Opens an account (once; opening it again returns it as it is).</summary>
    public async Task<AccountState> OpenAsync(string accountId, AccountFlags flags, CancellationToken cancellationToken)
    {
        var opened = AccountState.Open(accountId, flags);
        try
        {
            await StoreRetry.ThroughElectionAsync(
                () => AtomicBatch.PublishAsync(connection, [new BatchMessage(AccountSubject(accountId), Serialize(new AccountEntry(opened, null, time.GetUtcNow())), 0)], cancellationToken),
                cancellationToken);
            return opened;
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == ReplicatedPublisher.WrongLastSequence)
        {
            return (await ReadAccountAsync(accountId, cancellationToken))!.Value.Entry.State;
        }
    }

    /// <summary>The account's totals as the stream's leader has them; null for an account never opened.</summary>
    public async Task<AccountState?> AccountAsync(string accountId, CancellationToken cancellationToken) =>
        (await ReadAccountAsync(accountId, cancellationToken))?.Entry.State;

    /// <summary>The transfer with this id, if it was ever written.</summary>
    public async Task<Transfer?> TransferAsync(string transferId, CancellationToken cancellationToken)
    {
        var stored = await NewestAsync(TransferSubject(transferId), cancellationToken);
        return stored is null ? null : JsonSerializer.Deserialize<Transfer>(stored.Data.Span, HaetaeJson.Options);
    }

    /// <summary>The post or void that settled the hold <paramref name="pendingId"/>; null while it is held.</summary>
    public async Task<Transfer?> ResolutionAsync(string pendingId, CancellationToken cancellationToken)
    {
        var stored = await NewestAsync(ResolutionSubject(pendingId), cancellationToken);
        return stored is null ? null : await TransferAsync(JsonSerializer.Deserialize<string>(stored.Data.Span, HaetaeJson.Options)!, cancellationToken);
    }

    /// <summary>
    /// Applies <paramref name="transfer"/> once. A transfer whose id was written already returns the one
    /// written (a retry gets its first result); if that one differs from this request, it is a conflict.
    /// </summary>
    /// <exception cref="LedgerRefusal">The rules refuse it; nothing is written.</exception>
    public async Task<Transfer> ExecuteAsync(Transfer transfer, CancellationToken cancellationToken) =>
        (await ExecuteLinkedAsync([transfer], cancellationToken))[0];

    /// <summary>The most transfers one linked chain holds.</summary>
    public const int MaxLinked = 8;

    /// <summary>
    /// Applies linked transfers (TigerBeetle's linked events): all of them, in order, or none; each account
    /// in at most one of them. A chain whose first id was written already was written whole (one atomic
    /// batch), and returns as it was written; if it differs from this request, it is a conflict.
    /// </summary>
    /// <exception cref="LedgerRefusal">The rules refuse one of them; nothing is written.</exception>
    /// <remarks>
    /// An attempt that meets an outage (no answer to the batch: it may be stored) starts again from the
    /// top, through <see cref="StoreRetry.UntilStored"/>: reading the ids' subjects tells whether it was
    /// stored, and writing again cannot apply it twice (the subjects are expected empty, the totals unchanged).
    /// </remarks>
    public async Task<IReadOnlyList<Transfer>> ExecuteLinkedAsync(IReadOnlyList<Transfer> chain, CancellationToken cancellationToken)
    {
        var accounts = chain.SelectMany(t => new[] { t.DebitAccount, t.CreditAccount }).ToList();
        if (chain.Count is 0 or > MaxLinked || accounts.Distinct(StringComparer.Ordinal).Count() != accounts.Count && chain.Count > 1)
        {
            throw new ArgumentException($"a linked chain is 1 to {MaxLinked} transfers, each account in one of them", nameof(chain));
        }

        var outcome = await StoreRetry.UntilStored.ExecuteAsync(ct => new ValueTask<Conflicted<IReadOnlyList<Transfer>>>(StoreRetry.Conflicts<IReadOnlyList<Transfer>>(50).ExecuteAsync(async ct =>
        {
            // Every read at once: if an id is written meanwhile, the batch below expects its subject empty
            // and is refused, and the next attempt finds it.
            var earlierReads = chain.Select(t => TransferAsync(t.Id, ct)).ToList();
            var accountReads = accounts.Distinct(StringComparer.Ordinal).ToDictionary(a => a, a => ReadAccountAsync(a, ct), StringComparer.Ordinal);
            var holdReads = chain.Select(t => t.Kind is TransferKind.PostPending or TransferKind.VoidPending && t.PendingId is { } held ? HoldAsync(held, ct) : Task.FromResult<(Transfer?, bool)>((null, false))).ToList();
            await Task.WhenAll(earlierReads.Cast<Task>().Concat(accountReads.Values).Concat(holdReads));
            if (await earlierReads[0] is not null)
            {
                var written = new List<Transfer>();
                for (var i = 0; i < chain.Count; i++)
                {
                    written.Add(Same(await earlierReads[i] ?? throw ApiProblem.Conflict($"transfer {chain[0].Id} exists without the rest of this chain"), chain[i]));
                }

                return Conflicted<IReadOnlyList<Transfer>>.Done(written);
            }

            var now = time.GetUtcNow();
            List<BatchMessage> batch = [];
            for (var i = 0; i < chain.Count; i++)
            {
                var transfer = chain[i];
                var debit = await accountReads[transfer.DebitAccount] ?? throw new LedgerRefusal(Refusal.AccountNotFound, $"no account {transfer.DebitAccount}");
                var credit = await accountReads[transfer.CreditAccount] ?? throw new LedgerRefusal(Refusal.AccountNotFound, $"no account {transfer.CreditAccount}");
                var (hold, settled) = await holdReads[i];
                if (settled)
                {
                    throw new LedgerRefusal(Refusal.PendingAlreadyResolved, $"hold {hold!.Id} is settled already");
                }

                var (debitAfter, creditAfter) = LedgerRules.Apply(debit.Entry.State, credit.Entry.State, transfer, hold, now);
                batch.Add(new(TransferSubject(transfer.Id), Serialize(transfer), 0));
                batch.Add(new(AccountSubject(transfer.DebitAccount), Serialize(new AccountEntry(debitAfter, transfer.Id, now, debit.Sequence)), debit.Sequence));
                batch.Add(new(AccountSubject(transfer.CreditAccount), Serialize(new AccountEntry(creditAfter, transfer.Id, now, credit.Sequence)), credit.Sequence));
                if (hold is not null)
                {
                    batch.Add(new(ResolutionSubject(hold.Id), Serialize(transfer.Id), 0));
                }
            }

            try
            {
                await AtomicBatch.PublishAsync(connection, batch, ct);
                return Conflicted<IReadOnlyList<Transfer>>.Done(chain);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode is ReplicatedPublisher.WrongLastSequence or ReplicatedPublisher.SubjectInFlight)
            {
                // Another transfer changed an account (or wrote one of these ids) first: read again.
                return Conflicted<IReadOnlyList<Transfer>>.Lost;
            }
        }, ct).AsTask()), cancellationToken);
        return outcome.Conflict
            ? throw new ApiProblem(503, "Ledger busy", "the accounts kept changing under this transfer; retry with the same id")
            : outcome.Value;
    }

    /// <summary>The hold a post or void names (null if there is none), and whether it is settled already.</summary>
    private async Task<(Transfer? Hold, bool Settled)> HoldAsync(string holdId, CancellationToken cancellationToken)
    {
        var (hold, resolution) = (TransferAsync(holdId, cancellationToken), NewestAsync(ResolutionSubject(holdId), cancellationToken));
        return (await hold, await resolution is not null);
    }

    /// <summary>
    /// The account's history, newest first: up to <paramref name="limit"/> transfers before the entry at
    /// <paramref name="before"/> (null: from the newest). Entries are written once, so any replica that has
    /// one has the right one.
    /// </summary>
    public async Task<IReadOnlyList<HistoryLine>> HistoryAsync(string accountId, ulong? before, int limit, CancellationToken cancellationToken)
    {
        var lines = new List<HistoryLine>();
        var at = await ReadAccountAsync(accountId, cancellationToken);
        while (at is { } skipped && before is { } cursor && skipped.Sequence >= cursor)
        {
            at = await EntryAtAsync(skipped.Entry.Previous, cancellationToken);
        }

        while (at is { Entry.TransferId: { } transferId } line && lines.Count < limit)
        {
            var transfer = await TransferAsync(transferId, cancellationToken) ?? throw new InvalidOperationException($"entry #{line.Sequence} of {accountId} names transfer {transferId}, which is not in the ledger");
            lines.Add(new HistoryLine(line.Entry, line.Sequence, transfer));
            at = await EntryAtAsync(line.Entry.Previous, cancellationToken);
        }

        return lines;
    }

    private async Task<(AccountEntry Entry, ulong Sequence)?> EntryAtAsync(ulong sequence, CancellationToken cancellationToken)
    {
        if (sequence == 0)
        {
            return null;
        }

        var stored = await StoreRetry.ThroughElectionAsync(() => DirectReads.GetAsync(connection, StreamName, sequence, cancellationToken), cancellationToken);
        return stored is null ? null : (JsonSerializer.Deserialize<AccountEntry>(stored.Data.Span, HaetaeJson.Options)!, sequence);
    }

    /// <summary>Every message of the ledger, in stream order, up to the newest when the reading started.</summary>
    public async IAsyncEnumerable<LedgerMessage> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var js = new NatsJSContext(connection);
        var last = (await js.GetStreamAsync(StreamName, cancellationToken: cancellationToken)).Info.State.LastSeq;
        if (last == 0)
        {
            yield break;
        }

        var consumer = await js.CreateOrderedConsumerAsync(StreamName, cancellationToken: cancellationToken);
        await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: cancellationToken))
        {
            var sequence = message.Metadata?.Sequence.Stream ?? 0;
            yield return new LedgerMessage(message.Subject, sequence, message.Data ?? []);
            if (sequence >= last)
            {
                yield break;
            }
        }
    }

    /// <summary>The whole ledger read and checked (<see cref="LedgerAudit"/>).</summary>
    public async Task<AuditReport> AuditAsync(CancellationToken cancellationToken)
    {
        var messages = new List<LedgerMessage>();
        await foreach (var message in ReadAllAsync(cancellationToken))
        {
            messages.Add(message);
        }

        return LedgerAudit.Check(messages);
    }

    private static Transfer Same(Transfer earlier, Transfer asked) =>
        earlier with { At = asked.At, Expires = asked.Expires } == asked
            ? earlier
            : throw ApiProblem.Conflict($"transfer {asked.Id} exists with other details");

    private async Task<(AccountEntry Entry, ulong Sequence)?> ReadAccountAsync(string accountId, CancellationToken cancellationToken)
    {
        var stored = await NewestAsync(AccountSubject(accountId), cancellationToken);
        return stored is null ? null : (JsonSerializer.Deserialize<AccountEntry>(stored.Data.Span, HaetaeJson.Options)!, stored.Sequence);
    }

    /// <summary>
    /// The newest message of <paramref name="subject"/> as the stream's leader has it, waiting through an
    /// election (then a 503). Never a replica's: the ledger refuses transfers on what it reads (not enough
    /// money, no such hold), and a replica that trails, cut off or between leaders, would make it refuse a
    /// valid one, or tell a retry that a transfer written a moment before is not there (seen in a partition drill).
    /// </summary>
    private Task<StoredEntry?> NewestAsync(string subject, CancellationToken cancellationToken) =>
        StoreRetry.ThroughElectionAsync(() => DirectReads.GetLastFromLeaderAsync(connection, StreamName, subject, cancellationToken, replicaWhenNoLeader: false), cancellationToken);

    private static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, HaetaeJson.Options);
}
