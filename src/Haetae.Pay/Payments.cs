using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;

namespace Haetae.Pay;

/// <summary>The kit's <see cref="IPayments"/> on pay's ledger: holds from a wallet to a shop's till, settled once.</summary>
public sealed class Payments(Ledger ledger, Wallets wallets, Buckets buckets, TimeProvider time) : IPayments
{
    /// <summary>The keeper of a service's own shop: no person (no user id has this form), so no one signs in as it.</summary>
    public static string ServiceOwner(string merchantId) => "service:" + merchantId;

    public async Task<Shop> OpenServiceShopAsync(string merchantId, string name, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(Merchants.Bucket);
        var record = new MerchantRecord(merchantId, name, ServiceOwner(merchantId), time.GetUtcNow());
        if (!await store.TryCreateAsync(MerchantKeys.Merchant(merchantId), record, cancellationToken))
        {
            record = (await StoreRetry.ThroughElectionAsync(() => store.GetFromLeaderAsync(MerchantKeys.Merchant(merchantId), cancellationToken), cancellationToken))!.Value;
        }

        await ledger.OpenAsync(Merchants.Till(merchantId), AccountFlags.DebitsMustNotExceedCredits, cancellationToken);
        return new Shop(record.Id, record.Name, record.OwnerId);
    }

    public async Task<Shop?> ShopAsync(string merchantId, CancellationToken cancellationToken)
    {
        if (!RequestIds.IsValid(merchantId))
        {
            return null;
        }

        var store = await buckets.GetAsync(Merchants.Bucket);
        var record = await StoreRetry.ThroughElectionAsync(() => store.GetFromLeaderAsync(MerchantKeys.Merchant(merchantId), cancellationToken), cancellationToken);
        return record is { Value: var m } ? new Shop(m.Id, m.Name, m.OwnerId) : null;
    }

    public async Task<PaymentHold> HoldAsync(string holdId, string payerId, string merchantId, long amount, string code, DateTimeOffset? expires, CancellationToken cancellationToken)
    {
        await wallets.EnsureWalletAsync(payerId, cancellationToken);
        var now = time.GetUtcNow();
        var hold = new Transfer(holdId, PayAccounts.Wallet(payerId), Merchants.Till(merchantId), amount, TransferKind.Pending, code, now, Expires: expires);
        Transfer stored;
        if (expires is not null)
        {
            // Pay releases it by itself when it expires: the same task as a shop's authorization.
            stored = await wallets.HoldAsync(new PayTask(PayTaskKind.Authorization, holdId, payerId, amount, now, expires), hold, cancellationToken);
        }
        else
        {
            try
            {
                stored = await ledger.ExecuteAsync(hold, cancellationToken);
            }
            catch (LedgerRefusal refusal)
            {
                throw Wallets.Problem(refusal);
            }
        }

        return await ViewAsync(stored, cancellationToken);
    }

    public async Task<PaymentHold?> FindHoldAsync(string holdId, CancellationToken cancellationToken) =>
        RequestIds.IsValid(holdId) && await ledger.TransferAsync(holdId, cancellationToken) is { Kind: TransferKind.Pending } hold && Merchants.MerchantOf(hold.CreditAccount) is not null
            ? await ViewAsync(hold, cancellationToken)
            : null;

    public async Task<PaymentSettlement> SettleAsync(string holdId, string settlementId, long capture, string code, CancellationToken cancellationToken)
    {
        var hold = await ledger.TransferAsync(holdId, cancellationToken) ?? throw ApiProblem.NotFound($"no hold {holdId}");
        var settle = new Transfer(
            settlementId, hold.DebitAccount, hold.CreditAccount, capture, capture > 0 ? TransferKind.PostPending : TransferKind.VoidPending, code, time.GetUtcNow(), PendingId: hold.Id);
        Transfer settled;
        try
        {
            settled = await ledger.ExecuteAsync(settle, cancellationToken);
        }
        catch (LedgerRefusal refusal) when (refusal.Reason == Refusal.PendingAlreadyResolved)
        {
            settled = await ledger.ResolutionAsync(hold.Id, cancellationToken) ?? throw Wallets.Problem(refusal);
        }
        catch (LedgerRefusal refusal)
        {
            throw Wallets.Problem(refusal);
        }

        if (hold.Expires is not null)
        {
            await wallets.ForgetAsync(hold.Id, cancellationToken);
        }

        return Settlement(settled);
    }

    private async Task<PaymentHold> ViewAsync(Transfer hold, CancellationToken cancellationToken)
    {
        var resolution = await ledger.ResolutionAsync(hold.Id, cancellationToken);
        return new PaymentHold(
            hold.Id, PayAccounts.PersonOf(hold.DebitAccount) ?? "", Merchants.MerchantOf(hold.CreditAccount) ?? "", hold.Amount, hold.Code, hold.At,
            resolution is null ? null : Settlement(resolution));
    }

    private static PaymentSettlement Settlement(Transfer t) => new(t.Id, t.Kind == TransferKind.PostPending ? t.Amount : 0, t.Code, t.At);
}
