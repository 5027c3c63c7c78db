using System.Collections.Concurrent;
using System.Globalization;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Haetae.Pay;

/// <summary>The ledger's account ids: a person's wallet, and the system's account for the bank.</summary>
public static class PayAccounts
{
    /// <summary>The bank's side of every top-up and withdrawal: it goes below zero by what wallets hold.</summary>
    public const string Bank = "sys-bank";

    public static string Wallet(string userId) => "w-" + userId;

    /// <summary>The person whose wallet <paramref name="account"/> is; null for a system account.</summary>
    public static string? PersonOf(string account) => account.StartsWith("w-", StringComparison.Ordinal) ? account[2..] : null;
}

public enum PayTaskKind
{
    TopUp,
    Withdrawal,
    Envelope,

    /// <summary>A payment a shop has not captured: it goes back to the payer when it expires.</summary>
    Authorization,
}

/// <summary>
/// A hold that must be settled by itself if nobody settles it: a top-up or withdrawal whose bank call
/// was cut short, an envelope nobody accepts. Written before its hold, deleted once the hold is settled,
/// so an outage between the two never leaves a hold that nothing will settle.
/// </summary>
public sealed record PayTask(PayTaskKind Kind, string HoldId, string UserId, long Amount, DateTimeOffset Created, DateTimeOffset? Expires = null);

public static class PayKeys
{
    public static Key<PayTask> Task(string holdId) => new("task." + holdId);
}

/// <summary>
/// Wallets in won on the ledger. Every write takes ids derived from the caller's request id, so a retry
/// at any site finds what the first attempt wrote: top-ups and withdrawals are holds against the bank's
/// account, settled by the bank's answer to the hold's id (the bank applies each id once); money for a
/// friend is a hold from sender to receiver, posted when accepted, voided when declined or after
/// <see cref="EnvelopeLifetime"/>.
/// </summary>
public sealed partial class Wallets(Ledger ledger, BankClient bank, Buckets buckets, IPeople people, IChatPosts chats, TimeProvider time, ILogger<Wallets> logger)
{
    public const string TasksBucket = "pay-tasks";

    /// <summary>The most one top-up or withdrawal moves.</summary>
    public const long MaxBankMove = 10_000_000;

    /// <summary>The most one envelope holds.</summary>
    public const long MaxSend = 2_000_000;

    public const int MaxPage = 100;

    public static readonly TimeSpan EnvelopeLifetime = TimeSpan.FromHours(48);

    /// <summary>How long a top-up or withdrawal is left to its own request before the reconciler asks the bank.</summary>
    public static readonly TimeSpan BankGrace = TimeSpan.FromSeconds(10);

    /// <summary>A task whose hold never came (the request ended first: nothing moved) is forgotten after this.</summary>
    public static readonly TimeSpan OrphanAfter = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<string, Lazy<Task>> _opened = new(StringComparer.Ordinal);

    /// <summary>Opens the person's wallet if it is not open yet.</summary>
    public Task EnsureWalletAsync(string user, CancellationToken cancellationToken) => OpenAsync(PayAccounts.Wallet(user), AccountFlags.DebitsMustNotExceedCredits, cancellationToken);

    public async Task<WalletView> WalletAsync(string user, CancellationToken cancellationToken)
    {
        await EnsureWalletAsync(user, cancellationToken);
        var state = await ledger.AccountAsync(PayAccounts.Wallet(user), cancellationToken) ?? AccountState.Open(PayAccounts.Wallet(user), AccountFlags.DebitsMustNotExceedCredits);
        return new WalletView(state.Balance, state.Available, state.DebitsPending, state.CreditsPending);
    }

    public Task<BankMoveView> TopUpAsync(string user, BankRequest request, string requestId, CancellationToken cancellationToken) =>
        StartBankMoveAsync(PayTaskKind.TopUp, user, request.Amount, RequestIds.Derive("tu", 24, user, requestId), cancellationToken);

    public Task<BankMoveView> WithdrawAsync(string user, BankRequest request, string requestId, CancellationToken cancellationToken) =>
        StartBankMoveAsync(PayTaskKind.Withdrawal, user, request.Amount, RequestIds.Derive("wd", 24, user, requestId), cancellationToken);

    /// <summary>The caller's top-up or withdrawal <paramref name="id"/> as it stands.</summary>
    public async Task<BankMoveView> MoveAsync(string user, string id, CancellationToken cancellationToken)
    {
        var hold = await ledger.TransferAsync(id, cancellationToken);
        if (hold is not { Kind: TransferKind.Pending, Code: "topup" or "withdrawal" } || PayAccounts.Wallet(user) is var mine && hold.DebitAccount != mine && hold.CreditAccount != mine)
        {
            throw ApiProblem.NotFound($"no top-up or withdrawal {id}");
        }

        return MoveView(hold, await ledger.ResolutionAsync(id, cancellationToken), null);
    }

    private async Task<BankMoveView> StartBankMoveAsync(PayTaskKind kind, string user, long amount, string holdId, CancellationToken cancellationToken)
    {
        RequireAmount(amount, MaxBankMove);
        var wallet = PayAccounts.Wallet(user);
        await Task.WhenAll(OpenAsync(wallet, AccountFlags.DebitsMustNotExceedCredits, cancellationToken), OpenAsync(PayAccounts.Bank, AccountFlags.None, cancellationToken));
        var now = time.GetUtcNow();
        var hold = kind == PayTaskKind.TopUp
            ? new Transfer(holdId, PayAccounts.Bank, wallet, amount, TransferKind.Pending, "topup", now)
            : new Transfer(holdId, wallet, PayAccounts.Bank, amount, TransferKind.Pending, "withdrawal", now);
        var task = new PayTask(kind, holdId, user, amount, now);
        var stored = await HoldAsync(task, hold, cancellationToken);
        if (await ledger.ResolutionAsync(stored.Id, cancellationToken) is { } settled)
        {
            // A retry of a move settled already: its answer, whether or not the bank answers now.
            await ForgetAsync(task, cancellationToken);
            return MoveView(stored, settled, null);
        }

        return await SettleBankMoveAsync(task, stored, cancellationToken);
    }

    /// <summary>
    /// Asks the bank to apply the hold (its id is the bank's key, so asking again never moves money twice)
    /// and settles the hold by the answer; while the bank does not answer, the move stays pending and the
    /// reconciler asks again. The caller has found the hold not settled yet.
    /// </summary>
    private async Task<BankMoveView> SettleBankMoveAsync(PayTask task, Transfer hold, CancellationToken cancellationToken)
    {
        BankAnswer answer;
        try
        {
            answer = task.Kind == PayTaskKind.TopUp
                ? await bank.DebitAsync(hold.Id, task.UserId, hold.Amount, cancellationToken)
                : await bank.CreditAsync(hold.Id, task.UserId, hold.Amount, cancellationToken);
        }
        catch (BankUnavailable e)
        {
            LogBankUnavailable(hold.Id, e.Message);
            return MoveView(hold, null, e.Message);
        }

        var resolution = await SettleAsync(hold, answer.Done, answer.Done ? "bank-done" : "bank-refused", cancellationToken);
        await ForgetAsync(task, cancellationToken);
        return MoveView(hold, resolution, answer.Reason);
    }

    public async Task<EnvelopeView> SendAsync(string user, SendMoneyRequest request, string requestId, CancellationToken cancellationToken)
    {
        RequireAmount(request.Amount, MaxSend);
        await Recipients.RequireAsync(people, chats, user, request.To, request.ChatId, "money", cancellationToken);
        var to = request.To!;
        var (wallet, theirs) = (PayAccounts.Wallet(user), PayAccounts.Wallet(to));
        await Task.WhenAll(OpenAsync(wallet, AccountFlags.DebitsMustNotExceedCredits, cancellationToken), OpenAsync(theirs, AccountFlags.DebitsMustNotExceedCredits, cancellationToken));
        var now = time.GetUtcNow();
        var holdId = RequestIds.Derive("ev", 24, user, requestId);
        var hold = new Transfer(holdId, wallet, theirs, request.Amount, TransferKind.Pending, "envelope", now, Expires: now + EnvelopeLifetime, UserData: request.ChatId);
        var stored = await HoldAsync(new PayTask(PayTaskKind.Envelope, holdId, user, request.Amount, now, hold.Expires), hold, cancellationToken);
        if (request.ChatId is { } shownIn)
        {
            // The same request id: a retry finds the hold and the message the first attempt wrote, and writes neither again.
            await chats.PostMoneyAsync(shownIn, user, to, new MoneyNote(stored.Id, stored.Amount), requestId, cancellationToken);
        }

        return EnvelopeView(stored, null);
    }

    /// <summary>An envelope the caller sent or received.</summary>
    public async Task<EnvelopeView> EnvelopeAsync(string user, string id, CancellationToken cancellationToken)
    {
        var hold = await RequireEnvelopeAsync(user, id, cancellationToken);
        return EnvelopeView(hold, await ledger.ResolutionAsync(id, cancellationToken));
    }

    /// <summary>The receiver takes the money (again: the same answer).</summary>
    public Task<EnvelopeView> AcceptAsync(string user, string id, CancellationToken cancellationToken) => AnswerEnvelopeAsync(user, id, accept: true, cancellationToken);

    /// <summary>The receiver sends the money back.</summary>
    public Task<EnvelopeView> DeclineAsync(string user, string id, CancellationToken cancellationToken) => AnswerEnvelopeAsync(user, id, accept: false, cancellationToken);

    private async Task<EnvelopeView> AnswerEnvelopeAsync(string user, string id, bool accept, CancellationToken cancellationToken)
    {
        var hold = await RequireEnvelopeAsync(user, id, cancellationToken);
        if (hold.CreditAccount != PayAccounts.Wallet(user))
        {
            throw ApiProblem.Forbidden("only the receiver accepts or declines an envelope");
        }

        var resolution = await SettleAsync(hold, accept, accept ? "accepted" : "returned", cancellationToken);
        if (resolution.Kind == TransferKind.PostPending != accept)
        {
            throw ApiProblem.Conflict(accept ? "this envelope went back to its sender" : "this envelope was accepted already");
        }

        await ForgetAsync(id, cancellationToken);
        return EnvelopeView(hold, resolution);
    }

    private async Task<Transfer> RequireEnvelopeAsync(string user, string id, CancellationToken cancellationToken)
    {
        var mine = PayAccounts.Wallet(user);
        return await ledger.TransferAsync(id, cancellationToken) is { Kind: TransferKind.Pending, Code: "envelope" } hold && (hold.DebitAccount == mine || hold.CreditAccount == mine)
            ? hold
            : throw ApiProblem.NotFound($"no envelope {id}");
    }

    /// <summary>The caller's wallet history, newest first, each line's other side named as the caller sees them.</summary>
    public async Task<HistoryPage> HistoryAsync(string user, string? before, int? limit, CancellationToken cancellationToken)
    {
        ulong? cursor = null;
        if (before is not null)
        {
            cursor = ulong.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed > 0
                ? parsed
                : throw ApiProblem.BadRequest("before must be a cursor this API returned (next)");
        }

        var size = limit ?? 20;
        if (size is < 1 or > MaxPage)
        {
            throw ApiProblem.BadRequest($"limit is 1 to {MaxPage}");
        }

        var mine = PayAccounts.Wallet(user);
        var lines = await ledger.HistoryAsync(mine, cursor, size, cancellationToken);
        var items = await Task.WhenAll(lines.Select(line => ItemAsync(user, mine, line.Transfer, cancellationToken)));
        return new HistoryPage(items, lines.Count == size ? lines[^1].Sequence.ToString(CultureInfo.InvariantCulture) : null);
    }

    private async Task<HistoryItem> ItemAsync(string user, string mine, Transfer transfer, CancellationToken cancellationToken)
    {
        var sign = transfer.CreditAccount == mine ? 1 : -1;
        var held = transfer.Kind switch
        {
            TransferKind.Pending => transfer.Amount,
            TransferKind.PostPending or TransferKind.VoidPending => -((await ledger.TransferAsync(transfer.PendingId!, cancellationToken))?.Amount ?? 0),
            _ => 0,
        };
        var posted = transfer.Kind is TransferKind.Posted or TransferKind.PostPending ? transfer.Amount : 0;
        var other = transfer.CreditAccount == mine ? transfer.DebitAccount : transfer.CreditAccount;
        var counterparty = PayAccounts.PersonOf(other) is { } person
            ? new Counterparty("person", person, (await people.SeenByAsync(person, user, cancellationToken))?.DisplayName ?? "(unknown)")
            : Merchants.MerchantOf(other) is { } shop
            ? new Counterparty("merchant", shop, (await (await buckets.GetAsync(Merchants.Bucket)).TryGetAsync(MerchantKeys.Merchant(shop), cancellationToken))?.Value.Name ?? "(shop)")
            : new Counterparty("bank", null, "Bank · 은행");
        return new HistoryItem(transfer.Id, transfer.Code, sign * posted, sign * held, counterparty, transfer.At);
    }

    /// <summary>
    /// Settles what nobody settled: a top-up or withdrawal left pending (asks the bank again), an envelope
    /// past its time (back to the sender), a task whose hold never came. Every node may run it at once:
    /// each step is idempotent by the hold's id.
    /// </summary>
    public async Task ReconcileAsync(PayTask task, CancellationToken cancellationToken)
    {
        // Decided from the task alone first: most tasks are not due, and a pass reads nothing for them.
        var now = time.GetUtcNow();
        var due = task.Kind is PayTaskKind.TopUp or PayTaskKind.Withdrawal ? now - task.Created > BankGrace : now >= task.Expires;
        if (!due)
        {
            return;
        }

        var hold = await ledger.TransferAsync(task.HoldId, cancellationToken);
        if (hold is null)
        {
            if (now - task.Created > OrphanAfter)
            {
                await ForgetAsync(task, cancellationToken);
            }

            return;
        }

        if (await ledger.ResolutionAsync(hold.Id, cancellationToken) is not null)
        {
            await ForgetAsync(task, cancellationToken);
            return;
        }

        if (task.Kind is PayTaskKind.TopUp or PayTaskKind.Withdrawal)
        {
            await SettleBankMoveAsync(task, hold, cancellationToken);
            return;
        }

        await SettleAsync(hold, post: false, task.Kind == PayTaskKind.Envelope ? "returned" : "expired", cancellationToken);
        await ForgetAsync(task, cancellationToken);
    }

    /// <summary>Writes the task, then the hold; a hold the ledger refuses leaves no task.</summary>
    public async Task<Transfer> HoldAsync(PayTask task, Transfer hold, CancellationToken cancellationToken)
    {
        var tasks = await buckets.GetAsync(TasksBucket);
        // Created once: a retry keeps the first attempt's task (and its clock).
        var created = await tasks.TryCreateAsync(PayKeys.Task(task.HoldId), task, cancellationToken);
        try
        {
            return await ledger.ExecuteAsync(hold, cancellationToken);
        }
        catch (LedgerRefusal refusal)
        {
            // Only a task this call wrote: one already there may be another request's, whose hold stands.
            if (created)
            {
                await ForgetAsync(task, cancellationToken);
            }

            throw Problem(refusal);
        }
    }

    /// <summary>Posts (all of it) or voids the hold, once; whichever settled it first is returned.</summary>
    private async Task<Transfer> SettleAsync(Transfer hold, bool post, string code, CancellationToken cancellationToken)
    {
        var settle = new Transfer(
            hold.Id + (post ? "-p" : "-v"), hold.DebitAccount, hold.CreditAccount, post ? hold.Amount : 0,
            post ? TransferKind.PostPending : TransferKind.VoidPending, code, time.GetUtcNow(), PendingId: hold.Id);
        try
        {
            return await ledger.ExecuteAsync(settle, cancellationToken);
        }
        catch (LedgerRefusal refusal) when (refusal.Reason == Refusal.PendingAlreadyResolved)
        {
            return await ledger.ResolutionAsync(hold.Id, cancellationToken) ?? throw Problem(refusal);
        }
        catch (LedgerRefusal refusal) when (refusal.Reason == Refusal.PendingExpired && post)
        {
            // Too late to accept: it goes back to the sender now rather than at the reconciler's next pass.
            return await SettleAsync(hold, post: false, "returned", cancellationToken);
        }
        catch (LedgerRefusal refusal)
        {
            throw Problem(refusal);
        }
    }

    private Task ForgetAsync(PayTask task, CancellationToken cancellationToken) => ForgetAsync(task.HoldId, cancellationToken);

    /// <summary>The hold is settled: nothing is left to do for it.</summary>
    public async Task ForgetAsync(string holdId, CancellationToken cancellationToken) =>
        await (await buckets.GetAsync(TasksBucket)).DeleteAsync(PayKeys.Task(holdId), cancellationToken);

    /// <summary>Opens an account once per node (opening is idempotent in the ledger; this only saves the call).</summary>
    private async Task OpenAsync(string account, AccountFlags flags, CancellationToken cancellationToken)
    {
        var opening = _opened.GetOrAdd(account, id => new Lazy<Task>(() => ledger.OpenAsync(id, flags, CancellationToken.None)));
        try
        {
            await opening.Value.WaitAsync(cancellationToken);
        }
        catch when (opening.Value.IsFaulted)
        {
            _opened.TryRemove(new KeyValuePair<string, Lazy<Task>>(account, opening));
            throw;
        }
    }

    private static void RequireAmount(long amount, long max)
    {
        if (amount is < 1 || amount > max)
        {
            throw ApiProblem.BadRequest($"the amount is ₩1 to ₩{max:N0}, in whole won");
        }
    }

    private static BankMoveView MoveView(Transfer hold, Transfer? resolution, string? reason) => new(
        hold.Id, hold.Code, hold.Amount,
        resolution is null ? MoveState.Pending : resolution.Kind == TransferKind.PostPending ? MoveState.Done : MoveState.Refused,
        reason);

    private static EnvelopeView EnvelopeView(Transfer hold, Transfer? resolution) => new(
        hold.Id, PayAccounts.PersonOf(hold.DebitAccount)!, PayAccounts.PersonOf(hold.CreditAccount)!, hold.Amount, hold.UserData,
        resolution is null ? EnvelopeState.Waiting : resolution.Kind == TransferKind.PostPending ? EnvelopeState.Accepted : EnvelopeState.Returned,
        hold.Expires ?? hold.At);

    /// <summary>A refusal as the caller sees it: a 4xx that says why, with nothing moved.</summary>
    public static ApiProblem Problem(LedgerRefusal refusal) => refusal.Reason switch
    {
        Refusal.ExceedsCredits => new ApiProblem(StatusCodes.Status409Conflict, "Not enough money", "the wallet does not hold enough for this; top it up first"),
        Refusal.PendingExpired => new ApiProblem(StatusCodes.Status409Conflict, "Expired", refusal.Message),
        Refusal.PendingAlreadyResolved => ApiProblem.Conflict(refusal.Message),
        Refusal.PendingNotFound or Refusal.AccountNotFound => ApiProblem.NotFound(refusal.Message),
        _ => ApiProblem.BadRequest(refusal.Message),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bank move {HoldId} left pending: {Reason}")]
    private partial void LogBankUnavailable(string holdId, string reason);
}
