using System.Security.Cryptography;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Http;

namespace Haetae.Pay;

/// <summary>A shop, kept by the person who opened it; its till is the ledger account <c>m-&lt;id&gt;</c>.</summary>
public sealed record MerchantRecord(string Id, string Name, string OwnerId, DateTimeOffset Opened);

/// <summary>The shops a person keeps.</summary>
public sealed record MerchantList(IReadOnlyList<string> Ids);

/// <summary>
/// A payment a shop asked for at its till: what and how much, and the code the payer types in. What
/// became of it (approved, captured, voided, refunded) is never kept here: it is read from the ledger.
/// </summary>
public sealed record ChargeRecord(string Id, string MerchantId, long Amount, string Code, DateTimeOffset Created, DateTimeOffset CodeExpires);

public static class MerchantKeys
{
    public static Key<MerchantRecord> Merchant(string id) => new("merchant." + id);

    public static Key<MerchantList> Owner(string userId) => new("owner." + userId);

    public static Key<ChargeRecord> Charge(string id) => new("charge." + id);

    public static Key<string> Code(string code) => new("code." + code);
}

/// <summary>
/// Shops and their payments, on the ledger. A payment is an authorization hold from the payer's wallet
/// to the shop's till (its id derived from the charge, so one charge is paid by one wallet, once), then a
/// capture of all or part of it, or a void, or its expiry after <see cref="HoldLifetime"/>. A capture also
/// credits the charge's refund allowance (account <c>r-&lt;charge&gt;</c>, which may not go below zero) in
/// the same linked chain; a refund debits it in the chain that pays the payer back, so the refunds of a
/// charge can never exceed what was captured, whoever refunds from whichever site at once.
/// </summary>
public sealed class Merchants(Ledger ledger, Buckets buckets, Wallets wallets, TimeProvider time)
{
    public const string Bucket = "pay-merchants";

    /// <summary>Where every refund allowance comes from: it goes below zero by what may still be refunded.</summary>
    public const string Refunds = "sys-refunds";

    public const int MaxNameLength = 40;

    public const int MaxPerOwner = 5;

    /// <summary>How long an authorization holds the payer's money before it goes back by itself (card networks: about a week).</summary>
    public static readonly TimeSpan HoldLifetime = TimeSpan.FromDays(7);

    /// <summary>How long a till's code can be typed in.</summary>
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(10);

    public static string Till(string merchantId) => "m-" + merchantId;

    /// <summary>The shop whose till <paramref name="account"/> is; null for any other account.</summary>
    public static string? MerchantOf(string account) => account.StartsWith("m-", StringComparison.Ordinal) ? account[2..] : null;

    public static string Allowance(string chargeId) => "r-" + chargeId;

    public static string AuthorizationId(string chargeId) => chargeId + "-a";

    public async Task<MerchantView> OpenAsync(string user, OpenMerchantRequest request, string requestId, CancellationToken cancellationToken)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            throw ApiProblem.BadRequest($"a shop's name is 1 to {MaxNameLength} characters without control characters");
        }

        var store = await buckets.GetAsync(Bucket);
        var id = RequestIds.Derive("mc", 20, user, requestId);
        await store.UpdateAsync(MerchantKeys.Owner(user), current =>
        {
            var ids = current?.Ids ?? [];
            return ids.Contains(id) ? current!
                : ids.Count >= MaxPerOwner ? throw ApiProblem.Conflict($"a person keeps at most {MaxPerOwner} shops")
                : new MerchantList([.. ids, id]);
        }, cancellationToken);
        var record = new MerchantRecord(id, name, user, time.GetUtcNow());
        if (!await store.TryCreateAsync(MerchantKeys.Merchant(id), record, cancellationToken))
        {
            record = (await NewestAsync(store, MerchantKeys.Merchant(id), cancellationToken))!.Value;
        }

        await Task.WhenAll(
            ledger.OpenAsync(Till(id), AccountFlags.DebitsMustNotExceedCredits, cancellationToken),
            ledger.OpenAsync(Refunds, AccountFlags.None, cancellationToken));
        return await ViewAsync(record, cancellationToken);
    }

    public async Task<IReadOnlyList<MerchantView>> MineAsync(string user, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(Bucket);
        var ids = (await NewestAsync(store, MerchantKeys.Owner(user), cancellationToken))?.Value.Ids ?? [];
        var records = await Task.WhenAll(ids.Select(id => NewestAsync(store, MerchantKeys.Merchant(id), cancellationToken)));
        return await Task.WhenAll(records.OfType<Versioned<MerchantRecord>>().Select(r => ViewAsync(r.Value, cancellationToken)));
    }

    /// <summary>The shop asks for a payment: a charge with a code for the payer.</summary>
    public async Task<ChargeView> ChargeAsync(string user, string merchantId, ChargeRequest request, string requestId, CancellationToken cancellationToken)
    {
        var merchant = await RequireOwnAsync(user, merchantId, cancellationToken);
        if (request.Amount is < 1 or > Wallets.MaxSend)
        {
            throw ApiProblem.BadRequest($"the amount is ₩1 to ₩{Wallets.MaxSend:N0}, in whole won");
        }

        var store = await buckets.GetAsync(Bucket);
        var id = RequestIds.Derive("ch", 20, merchant.Id, requestId);
        if (await NewestAsync(store, MerchantKeys.Charge(id), cancellationToken) is { Value: var earlier })
        {
            return await ChargeViewAsync(earlier, merchant, cancellationToken);
        }

        // A code no other open charge has: taken with a create, so two tills never hand out the same one.
        string code;
        do
        {
            code = RandomNumberGenerator.GetInt32(0, 100_000_000).ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
        }
        while (!await TryTakeCodeAsync(store, code, id, cancellationToken));

        var now = time.GetUtcNow();
        var charge = new ChargeRecord(id, merchant.Id, request.Amount, code, now, now + CodeLifetime);
        if (!await store.TryCreateAsync(MerchantKeys.Charge(id), charge, cancellationToken))
        {
            charge = (await NewestAsync(store, MerchantKeys.Charge(id), cancellationToken))!.Value;
        }

        return await ChargeViewAsync(charge, merchant, cancellationToken);
    }

    private async Task<bool> TryTakeCodeAsync(JsonBucket store, string code, string chargeId, CancellationToken cancellationToken)
    {
        if (await store.TryCreateAsync(MerchantKeys.Code(code), chargeId, cancellationToken))
        {
            return true;
        }

        // A code is free again once its charge's code has expired.
        var holder = await NewestAsync(store, MerchantKeys.Code(code), cancellationToken);
        var held = holder is null ? null : await NewestAsync(store, MerchantKeys.Charge(holder.Value), cancellationToken);
        return holder is not null && held is { Value.CodeExpires: var expires } && expires < time.GetUtcNow()
            && await store.ReplaceAsync(MerchantKeys.Code(code), chargeId, holder.Revision, cancellationToken) is not null;
    }

    /// <summary>What a payer sees before approving: the shop and the amount (and who paid only to the payer and the shop).</summary>
    public async Task<ChargeView> ByCodeAsync(string user, string code, CancellationToken cancellationToken)
    {
        var (charge, merchant) = await RequireByCodeAsync(code, cancellationToken);
        var view = await ChargeViewAsync(charge, merchant, cancellationToken);
        return view.PayerId == user || merchant.OwnerId == user ? view : view with { PayerId = null };
    }

    /// <summary>The payer approves: the amount is held from their wallet for the shop.</summary>
    public async Task<ChargeView> ApproveAsync(string user, string code, CancellationToken cancellationToken)
    {
        var (charge, merchant) = await RequireByCodeAsync(code, cancellationToken);
        if (merchant.OwnerId == user)
        {
            throw ApiProblem.BadRequest("a shop's keeper does not pay their own shop");
        }

        var now = time.GetUtcNow();
        var holdId = AuthorizationId(charge.Id);
        if (await ledger.TransferAsync(holdId, cancellationToken) is { } existing)
        {
            return existing.DebitAccount == PayAccounts.Wallet(user)
                ? await ChargeViewAsync(charge, merchant, cancellationToken)
                : throw ApiProblem.Conflict("this payment was made by someone else");
        }

        if (now > charge.CodeExpires)
        {
            throw new ApiProblem(StatusCodes.Status410Gone, "Code expired", "this code has expired; ask the shop for a new one");
        }

        await wallets.EnsureWalletAsync(user, cancellationToken);
        await ledger.OpenAsync(Allowance(charge.Id), AccountFlags.DebitsMustNotExceedCredits, cancellationToken);
        var hold = new Transfer(holdId, PayAccounts.Wallet(user), Till(merchant.Id), charge.Amount, TransferKind.Pending, "authorization", now, Expires: now + HoldLifetime, UserData: charge.Id);
        await wallets.HoldAsync(new PayTask(PayTaskKind.Authorization, holdId, user, charge.Amount, now, hold.Expires), hold, cancellationToken);
        return await ChargeViewAsync(charge, merchant, cancellationToken);
    }

    /// <summary>The shop takes all or part of what was approved; the rest goes back to the payer.</summary>
    public async Task<ChargeView> CaptureAsync(string user, string chargeId, CaptureRequest request, CancellationToken cancellationToken)
    {
        var (charge, merchant, hold) = await RequireApprovedAsync(user, chargeId, cancellationToken);
        var amount = request.Amount ?? hold.Amount;
        if (amount < 1 || amount > hold.Amount)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, "Beyond the hold", $"a capture is ₩1 to ₩{hold.Amount:N0}, the amount approved");
        }

        var now = time.GetUtcNow();
        Transfer[] chain =
        [
            new(hold.Id + "-p", hold.DebitAccount, hold.CreditAccount, amount, TransferKind.PostPending, "capture", now, PendingId: hold.Id, UserData: charge.Id),
            new(hold.Id + "-r", Refunds, Allowance(charge.Id), amount, TransferKind.Posted, "refundable", now, UserData: charge.Id),
        ];
        await SettleAsync(chain, hold, cancellationToken);
        return await ChargeViewAsync(charge, merchant, cancellationToken);
    }

    /// <summary>The shop lets the whole hold go back to the payer.</summary>
    public async Task<ChargeView> VoidAsync(string user, string chargeId, CancellationToken cancellationToken)
    {
        var (charge, merchant, hold) = await RequireApprovedAsync(user, chargeId, cancellationToken);
        await SettleAsync([new(hold.Id + "-v", hold.DebitAccount, hold.CreditAccount, 0, TransferKind.VoidPending, "void", time.GetUtcNow(), PendingId: hold.Id, UserData: charge.Id)], hold, cancellationToken);
        return await ChargeViewAsync(charge, merchant, cancellationToken);
    }

    /// <summary>The shop pays back part or all of what it captured, never more in all.</summary>
    public async Task<ChargeView> RefundAsync(string user, string chargeId, RefundRequest request, string requestId, CancellationToken cancellationToken)
    {
        var (charge, merchant, hold) = await RequireApprovedAsync(user, chargeId, cancellationToken);
        if (request.Amount is < 1 or > LedgerRules.MaxAmount)
        {
            throw ApiProblem.BadRequest("a refund is at least ₩1");
        }

        var id = RequestIds.Derive("rf", 20, charge.Id, requestId);
        var now = time.GetUtcNow();
        Transfer[] chain =
        [
            new(id, Till(merchant.Id), hold.DebitAccount, request.Amount, TransferKind.Posted, "refund", now, UserData: charge.Id),
            new(id + "-r", Allowance(charge.Id), Refunds, request.Amount, TransferKind.Posted, "refunded", now, UserData: charge.Id),
        ];
        try
        {
            await ledger.ExecuteLinkedAsync(chain, cancellationToken);
        }
        catch (LedgerRefusal refusal) when (refusal.Reason == Refusal.ExceedsCredits)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, "Beyond the capture", "refunds of a payment never exceed what was captured of it, nor what the till holds");
        }
        catch (LedgerRefusal refusal)
        {
            throw Wallets.Problem(refusal);
        }

        return await ChargeViewAsync(charge, merchant, cancellationToken);
    }

    /// <summary>A charge of one of the caller's shops, or one the caller paid.</summary>
    public async Task<ChargeView> ChargeViewAsync(string user, string chargeId, CancellationToken cancellationToken)
    {
        var (charge, merchant) = await RequireChargeAsync(chargeId, cancellationToken);
        if (merchant.OwnerId != user && (await ledger.TransferAsync(AuthorizationId(charge.Id), cancellationToken))?.DebitAccount != PayAccounts.Wallet(user))
        {
            throw ApiProblem.NotFound($"no payment {chargeId}");
        }

        return await ChargeViewAsync(charge, merchant, cancellationToken);
    }

    private async Task SettleAsync(IReadOnlyList<Transfer> chain, Transfer hold, CancellationToken cancellationToken)
    {
        try
        {
            await ledger.ExecuteLinkedAsync(chain, cancellationToken);
            await wallets.ForgetAsync(hold.Id, cancellationToken);
        }
        catch (LedgerRefusal refusal) when (refusal.Reason == Refusal.PendingAlreadyResolved)
        {
            // Settled already: the same settlement again is its first answer; another one is a conflict.
            if ((await ledger.ResolutionAsync(hold.Id, cancellationToken))?.Id != chain[0].Id)
            {
                throw ApiProblem.Conflict("this payment was settled already");
            }
        }
        catch (LedgerRefusal refusal)
        {
            throw Wallets.Problem(refusal);
        }
    }

    private async Task<(ChargeRecord Charge, MerchantRecord Merchant, Transfer Hold)> RequireApprovedAsync(string user, string chargeId, CancellationToken cancellationToken)
    {
        var (charge, merchant) = await RequireChargeAsync(chargeId, cancellationToken);
        if (merchant.OwnerId != user)
        {
            throw ApiProblem.NotFound($"no payment {chargeId}");
        }

        return (charge, merchant, await ledger.TransferAsync(AuthorizationId(charge.Id), cancellationToken)
            ?? throw ApiProblem.Conflict("nobody has approved this payment yet"));
    }

    private async Task<(ChargeRecord, MerchantRecord)> RequireChargeAsync(string chargeId, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(Bucket);
        var charge = RequestIds.IsValid(chargeId) ? (await NewestAsync(store, MerchantKeys.Charge(chargeId), cancellationToken))?.Value : null;
        var merchant = charge is null ? null : (await NewestAsync(store, MerchantKeys.Merchant(charge.MerchantId), cancellationToken))?.Value;
        return charge is null || merchant is null ? throw ApiProblem.NotFound($"no payment {chargeId}") : (charge, merchant);
    }

    private async Task<(ChargeRecord, MerchantRecord)> RequireByCodeAsync(string code, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(Bucket);
        var chargeId = code is { Length: 8 } && code.All(char.IsAsciiDigit) ? (await NewestAsync(store, MerchantKeys.Code(code), cancellationToken))?.Value : null;
        return chargeId is null ? throw ApiProblem.NotFound("no payment with this code") : await RequireChargeAsync(chargeId, cancellationToken);
    }

    private async Task<MerchantRecord> RequireOwnAsync(string user, string merchantId, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(Bucket);
        var merchant = RequestIds.IsValid(merchantId) ? (await NewestAsync(store, MerchantKeys.Merchant(merchantId), cancellationToken))?.Value : null;
        return merchant is not null && merchant.OwnerId == user ? merchant : throw ApiProblem.NotFound($"no shop {merchantId} of yours");
    }

    /// <summary>A shop's or a charge's entry as the bucket's leader has it, waiting through an election: a
    /// trailing replica would answer "no such code" for a charge asked for a moment before at another site.</summary>
    private static Task<Versioned<T>?> NewestAsync<T>(JsonBucket store, Key<T> key, CancellationToken cancellationToken) =>
        StoreRetry.ThroughElectionAsync(() => store.GetFromLeaderAsync(key, cancellationToken), cancellationToken);

    private async Task<MerchantView> ViewAsync(MerchantRecord merchant, CancellationToken cancellationToken)
    {
        var till = await ledger.AccountAsync(Till(merchant.Id), cancellationToken);
        return new MerchantView(merchant.Id, merchant.Name, till?.Balance ?? 0, till?.CreditsPending ?? 0);
    }

    /// <summary>Where a charge stands, from the ledger: approved (held), captured, voided or expired, and refunded.</summary>
    private async Task<ChargeView> ChargeViewAsync(ChargeRecord charge, MerchantRecord merchant, CancellationToken cancellationToken)
    {
        var holdId = AuthorizationId(charge.Id);
        var (holdRead, resolutionRead, allowanceRead) = (ledger.TransferAsync(holdId, cancellationToken), ledger.ResolutionAsync(holdId, cancellationToken), ledger.AccountAsync(Allowance(charge.Id), cancellationToken));
        var (hold, resolution, allowance) = (await holdRead, await resolutionRead, await allowanceRead);
        var state = hold is null ? (time.GetUtcNow() > charge.CodeExpires ? ChargeState.Expired : ChargeState.Open)
            : resolution is null ? ChargeState.Approved
            : resolution.Kind == TransferKind.PostPending ? ChargeState.Captured
            : resolution.Code == "void" ? ChargeState.Voided : ChargeState.Expired;
        var captured = resolution?.Kind == TransferKind.PostPending ? resolution.Amount : 0;
        return new ChargeView(
            charge.Id, merchant.Id, merchant.Name, charge.Amount, charge.Code, state, PayAccounts.PersonOf(hold?.DebitAccount ?? ""), captured,
            allowance?.DebitsPosted ?? 0, hold?.Expires);
    }
}
