using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Microsoft.AspNetCore.Http;

namespace Haetae.Gifts;

/// <summary>
/// Redemption at a shop's till: the till claims the voucher while the order is made (one claim at a time,
/// taken with a create or a compare-and-set on the bucket's leader, so of three tills at three sites at
/// the same instant one holds it), then completes it (the ledger settles the voucher's hold to the shop,
/// once: a second completion, by this till or any other, finds it settled) or releases it. A claim lapses
/// by itself after <see cref="HoldFor"/> so a till that walks away never keeps a voucher.
/// </summary>
public sealed class Redemptions(GiftStore store, Catalog catalog, Vouchers vouchers, IPayments payments, TimeProvider time)
{
    /// <summary>How long a till holds a voucher while the order is made.</summary>
    public static readonly TimeSpan HoldFor = TimeSpan.FromMinutes(10);

    /// <summary>The till claims the voucher with this code for the order.</summary>
    public async Task<RedemptionView> StartAsync(string user, RedeemRequest request, string requestId, CancellationToken cancellationToken)
    {
        var shop = await catalog.RequireOwnShopAsync(user, request.MerchantId, cancellationToken);
        var voucher = await vouchers.ByCodeAsync(request.Code, cancellationToken);
        if (voucher.MerchantId != shop.Id)
        {
            throw ApiProblem.Forbidden($"this voucher is for a product of {voucher.Shop}, not of {shop.Name}");
        }

        var id = RequestIds.Derive("rd", 20, shop.Id, requestId);
        var bucket = await store.BucketAsync();
        var now = time.GetUtcNow();
        var record = new RedemptionRecord(id, voucher.Id, shop.Id, now);
        if (!await bucket.TryCreateAsync(GiftKeys.Redemption(id), record, cancellationToken))
        {
            record = (await store.ReadAsync(GiftKeys.Redemption(id), cancellationToken))!.Value;
            if (record.VoucherId != voucher.Id)
            {
                throw ApiProblem.Conflict("this request id redeemed another voucher");
            }
        }

        var hold = await payments.FindHoldAsync(GiftKeys.HoldId(voucher.Id), cancellationToken)
            ?? throw ApiProblem.Conflict("this voucher is still being issued; try again in a moment");
        if (hold.Settlement is { } settled)
        {
            return settled.Id == GiftKeys.RedeemedId(id)
                ? await ViewAsync(record, voucher, cancellationToken)
                : throw Settled(settled);
        }

        var (expires, _) = await vouchers.ValidityAsync(voucher, cancellationToken);
        if (now >= expires)
        {
            throw new ApiProblem(StatusCodes.Status410Gone, "Expired", $"this voucher expired on {expires:yyyy-MM-dd}; 90% of its price goes back to its buyer");
        }

        var claim = new Claim(id, shop.Id, now + HoldFor, Released: false);
        if (!await bucket.TryCreateAsync(GiftKeys.Claim(voucher.Id), claim, cancellationToken))
        {
            var current = await store.ReadAsync(GiftKeys.Claim(voucher.Id), cancellationToken);
            if (current is { Value.RedemptionId: var holder } && holder != id)
            {
                if (current.Value.HoldsAt(now) || await bucket.ReplaceAsync(GiftKeys.Claim(voucher.Id), claim, current.Revision, cancellationToken) is null)
                {
                    throw new ApiProblem(StatusCodes.Status409Conflict, "Being redeemed", "another till holds this voucher for an order right now");
                }
            }
        }

        return await ViewAsync(record, voucher, cancellationToken);
    }

    /// <summary>The order is made: the shop is paid the voucher's price, once. A retry returns the first result.</summary>
    public async Task<RedemptionView> CompleteAsync(string user, string redemptionId, CancellationToken cancellationToken)
    {
        var (record, voucher) = await RequireAsync(user, redemptionId, cancellationToken);
        var hold = await payments.FindHoldAsync(GiftKeys.HoldId(voucher.Id), cancellationToken) ?? throw ApiProblem.Conflict("this voucher is still being issued");
        if (hold.Settlement is null)
        {
            var claim = (await store.ReadAsync(GiftKeys.Claim(voucher.Id), cancellationToken))?.Value;
            if (claim is null || claim.RedemptionId != record.Id || claim.Released)
            {
                throw ApiProblem.Conflict("this till no longer holds the voucher (released, or lapsed and taken by another till); redeem it again");
            }

            hold = hold with { Settlement = await payments.SettleAsync(hold.Id, GiftKeys.RedeemedId(record.Id), voucher.Price, "gift-redeemed", cancellationToken) };
        }

        if (hold.Settlement.Id != GiftKeys.RedeemedId(record.Id))
        {
            throw Settled(hold.Settlement);
        }

        await (await store.BucketAsync()).DeleteAsync(GiftKeys.Live(voucher.Id), cancellationToken);
        return await ViewAsync(record, voucher, cancellationToken);
    }

    /// <summary>No order after all: the voucher is free for its holder again.</summary>
    public async Task<RedemptionView> ReleaseAsync(string user, string redemptionId, CancellationToken cancellationToken)
    {
        var (record, voucher) = await RequireAsync(user, redemptionId, cancellationToken);
        var hold = await payments.FindHoldAsync(GiftKeys.HoldId(voucher.Id), cancellationToken);
        if (hold?.Settlement?.Id == GiftKeys.RedeemedId(record.Id))
        {
            throw ApiProblem.Conflict("this redemption was completed: the shop has been paid");
        }

        var bucket = await store.BucketAsync();
        var claim = await store.ReadAsync(GiftKeys.Claim(voucher.Id), cancellationToken);
        if (claim is { Value: { Released: false } held } && held.RedemptionId == record.Id)
        {
            await bucket.ReplaceAsync(GiftKeys.Claim(voucher.Id), held with { Released = true }, claim.Revision, cancellationToken);
        }

        return await ViewAsync(record, voucher, cancellationToken);
    }

    public async Task<RedemptionView> GetAsync(string user, string redemptionId, CancellationToken cancellationToken)
    {
        var (record, voucher) = await RequireAsync(user, redemptionId, cancellationToken);
        return await ViewAsync(record, voucher, cancellationToken);
    }

    /// <summary>A redemption of a shop the caller keeps; a 404 for anyone else's.</summary>
    private async Task<(RedemptionRecord, VoucherRecord)> RequireAsync(string user, string redemptionId, CancellationToken cancellationToken)
    {
        var record = RequestIds.IsValid(redemptionId) ? (await store.ReadAsync(GiftKeys.Redemption(redemptionId), cancellationToken))?.Value : null;
        if (record is null || await payments.ShopAsync(record.MerchantId, cancellationToken) is not { } shop || shop.OwnerId != user)
        {
            throw ApiProblem.NotFound($"no redemption {redemptionId}");
        }

        return (record, await vouchers.RequireAsync(record.VoucherId, cancellationToken));
    }

    private async Task<RedemptionView> ViewAsync(RedemptionRecord record, VoucherRecord voucher, CancellationToken cancellationToken)
    {
        var (holdRead, claimRead) = (payments.FindHoldAsync(GiftKeys.HoldId(voucher.Id), cancellationToken), store.ReadAsync(GiftKeys.Claim(voucher.Id), cancellationToken));
        var (hold, claim) = (await holdRead, (await claimRead)?.Value);
        var now = time.GetUtcNow();
        var mine = claim?.RedemptionId == record.Id ? claim : null;
        var state = hold?.Settlement?.Id == GiftKeys.RedeemedId(record.Id) ? RedemptionState.Completed
            : mine is null || mine.Released || hold?.Settlement is not null ? RedemptionState.Released
            : now < mine.Until ? RedemptionState.Held
            : RedemptionState.Lapsed;
        return new RedemptionView(
            record.Id, voucher.Id, record.MerchantId, voucher.Product, voucher.Kind, voucher.Price, state, record.Started, mine?.Until ?? record.Started + HoldFor,
            state == RedemptionState.Completed ? hold!.Settlement!.At : null);
    }

    private static ApiProblem Settled(PaymentSettlement settlement) => settlement.Code == "gift-redeemed"
        ? new ApiProblem(StatusCodes.Status409Conflict, "Redeemed already", $"this voucher was redeemed on {settlement.At:yyyy-MM-dd HH:mm} UTC")
        : new ApiProblem(StatusCodes.Status410Gone, "Expired", "this voucher expired and 90% of its price went back to its buyer");
}
