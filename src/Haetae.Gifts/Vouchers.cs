using System.Globalization;
using System.Security.Cryptography;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Http;

namespace Haetae.Gifts;

/// <summary>
/// Gift vouchers (Korea's standard terms for mobile vouchers): sold for a friend, paid by a hold on the
/// buyer's wallet for the shop (<see cref="GiftKeys.HoldId"/>), valid a year, the validity moved by every
/// recorded outage of gifts that overlapped it, and after it ends 90% of the price back to the buyer, once.
/// Every write takes ids derived from the buyer's request id, so a retry at any site finishes what the
/// first attempt started and writes nothing twice; the ledger settles the hold once, so a voucher is
/// redeemed or refunded once, whoever tries from whichever site at the same instant.
/// </summary>
public sealed class Vouchers(GiftStore store, Catalog catalog, IPayments payments, IPeople people, IChatPosts chats, IOutages outages, TimeProvider time)
{
    /// <summary>The service name outages are recorded under (the status page's component).</summary>
    public const string Service = "gifts";

    /// <summary>A voucher's holder is told this long before it expires.</summary>
    public static readonly TimeSpan NoticeBefore = TimeSpan.FromDays(30);

    /// <summary>A sale cut short (the request ended between the payment and the message) is finished by the reconciler after this.</summary>
    public static readonly TimeSpan IssueGrace = TimeSpan.FromSeconds(20);

    /// <summary>The share of the price that goes back to the buyer after expiry, in tenths (the standard terms: 90%).</summary>
    public const int RefundTenths = 9;

    public const int MaxListed = 200;

    /// <summary>The validity a voucher is sold with: one year (the standard terms' minimum).</summary>
    public static DateTimeOffset ValidUntil(DateTimeOffset issued) => issued.AddYears(1);

    /// <summary>What goes back to the buyer after expiry: the price less a tenth of it, rounded in the buyer's favour.</summary>
    public static long RefundOf(long price) => price - price / 10 * (10 - RefundTenths);

    public async Task<VoucherView> BuyAsync(string user, BuyGiftRequest request, string requestId, CancellationToken cancellationToken)
    {
        var product = (await catalog.RequireAsync(request.ProductId, cancellationToken)).Value;
        var voucherId = RequestIds.Derive("gv", 20, user, requestId);
        if (await store.ReadAsync(GiftKeys.Voucher(voucherId), cancellationToken) is { Value: var sold })
        {
            // A retry of a sale that was written: its first result.
            return await ViewAsync(Same(sold, request), user, cancellationToken);
        }

        if (product.Retired)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, "No longer sold", $"{product.Shop} no longer sells {product.Name}");
        }

        if (product.Price != request.Price)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, "Price changed", $"{product.Name} costs ₩{product.Price:N0} now, not ₩{request.Price:N0}; nothing was bought");
        }

        await Recipients.RequireAsync(people, chats, user, request.To, request.ChatId, "a gift", cancellationToken);
        var to = request.To!;
        var now = time.GetUtcNow();
        var sale = new VoucherRecord(
            voucherId, product.Id, product.Name, product.MerchantId, product.Shop, product.Kind, product.Price, user, to, request.ChatId, requestId, NewCode(), now, ValidUntil(now));
        var bucket = await store.BucketAsync();
        // The whole sale first, so that one cut short is finished by the reconciler; a retry keeps the first attempt's code and clock.
        if (!await bucket.TryCreateAsync(GiftKeys.Issuing(voucherId), sale, cancellationToken))
        {
            sale = Same((await store.ReadAsync(GiftKeys.Issuing(voucherId), cancellationToken))?.Value ?? sale, request);
        }

        return await ViewAsync(await IssueAsync(sale, cancellationToken), user, cancellationToken);
    }

    /// <summary>
    /// Pays for the sale, then writes the voucher, its code and the holder's index, then the gift message,
    /// each once; then the sale becomes a live voucher. A payment pay refuses (not enough money) undoes the
    /// sale: nothing else was written before it.
    /// </summary>
    public async Task<VoucherRecord> IssueAsync(VoucherRecord sale, CancellationToken cancellationToken)
    {
        var bucket = await store.BucketAsync();
        try
        {
            await payments.HoldAsync(GiftKeys.HoldId(sale.Id), sale.BuyerId, sale.MerchantId, sale.Price, "gift", expires: null, cancellationToken);
        }
        catch (ApiProblem problem) when (problem.Status < 500)
        {
            await bucket.DeleteAsync(GiftKeys.Issuing(sale.Id), cancellationToken);
            throw;
        }

        sale = await TakeCodeAsync(bucket, sale, cancellationToken);
        if (!await bucket.TryCreateAsync(GiftKeys.Voucher(sale.Id), sale, cancellationToken))
        {
            sale = (await store.ReadAsync(GiftKeys.Voucher(sale.Id), cancellationToken))!.Value;
        }

        await bucket.TryCreateAsync(GiftKeys.Live(sale.Id), sale, cancellationToken);
        await bucket.PutAsync(GiftKeys.Held(sale.HolderId, sale.Id), sale.Id, cancellationToken);
        if (sale.ChatId is { } chatId)
        {
            try
            {
                await chats.PostGiftAsync(chatId, sale.BuyerId, sale.HolderId, new GiftNote(sale.Id, sale.Product, sale.Shop, sale.Price), sale.RequestId, cancellationToken);
            }
            catch (ApiProblem problem) when (problem.Status < 500)
            {
                // One of them left the chat or blocked the other since: the gift stands in the holder's vouchers, without a message.
            }
        }

        await bucket.DeleteAsync(GiftKeys.Issuing(sale.Id), cancellationToken);
        return sale;
    }

    /// <summary>The sale's code, taken with a create so that no two vouchers share one; a taken code (1 in 10^16) is drawn again.</summary>
    private async Task<VoucherRecord> TakeCodeAsync(JsonBucket bucket, VoucherRecord sale, CancellationToken cancellationToken)
    {
        while (!await bucket.TryCreateAsync(GiftKeys.Code(sale.Code), sale.Id, cancellationToken)
            && (await store.ReadAsync(GiftKeys.Code(sale.Code), cancellationToken))?.Value != sale.Id)
        {
            sale = sale with { Code = NewCode() };
            await bucket.PutAsync(GiftKeys.Issuing(sale.Id), sale, cancellationToken);
        }

        return sale;
    }

    /// <summary>The caller's vouchers (held by them), newest first.</summary>
    public async Task<IReadOnlyList<VoucherView>> MineAsync(string user, CancellationToken cancellationToken)
    {
        var bucket = await store.BucketAsync();
        List<string> ids = [];
        await foreach (var key in bucket.KeysAsync(GiftKeys.HeldBy(user), cancellationToken))
        {
            ids.Add(key[(key.LastIndexOf('.') + 1)..]);
        }

        var records = await Task.WhenAll(ids.Select(id => bucket.TryGetAsync(GiftKeys.Voucher(id), cancellationToken)));
        var views = await Task.WhenAll(records.OfType<Versioned<VoucherRecord>>().Select(r => r.Value)
            .OrderByDescending(v => v.Issued).Take(MaxListed).Select(v => ViewAsync(v, user, cancellationToken)));
        return views;
    }

    /// <summary>A voucher the caller bought or holds; a 404 for anyone else's.</summary>
    public async Task<VoucherView> GetAsync(string user, string voucherId, CancellationToken cancellationToken)
    {
        var voucher = await RequireAsync(voucherId, cancellationToken);
        return voucher.BuyerId == user || voucher.HolderId == user ? await ViewAsync(voucher, user, cancellationToken) : throw ApiProblem.NotFound($"no voucher {voucherId}");
    }

    public async Task<VoucherRecord> RequireAsync(string? voucherId, CancellationToken cancellationToken) =>
        RequestIds.IsValid(voucherId) && await store.ReadAsync(GiftKeys.Voucher(voucherId!), cancellationToken) is { Value: var voucher }
            ? voucher
            : throw ApiProblem.NotFound($"no voucher {voucherId}");

    /// <summary>The voucher a code names; a 404 for a code no voucher has.</summary>
    public async Task<VoucherRecord> ByCodeAsync(string? code, CancellationToken cancellationToken)
    {
        var digits = new string((code ?? "").Where(c => c is not (' ' or '-')).ToArray());
        return digits is { Length: 16 } && digits.All(char.IsAsciiDigit) && await store.ReadAsync(GiftKeys.Code(digits), cancellationToken) is { Value: var id }
            ? await RequireAsync(id, cancellationToken)
            : throw ApiProblem.NotFound("no voucher with this code");
    }

    /// <summary>When the voucher expires, and why: <see cref="Extend"/> over the incident record's outages of gifts since its sale.</summary>
    public async Task<(DateTimeOffset Expires, IReadOnlyList<ValidityExtension> Extensions)> ValidityAsync(VoucherRecord voucher, CancellationToken cancellationToken)
    {
        // Every outage that could move it: none ends after now, so none after the later of now and the sold date.
        var now = time.GetUtcNow();
        var windows = await outages.OverlappingAsync(Service, voucher.Issued, now > voucher.ValidUntil ? now : voucher.ValidUntil, cancellationToken);
        return Extend(voucher.Issued, voucher.ValidUntil, windows);
    }

    /// <summary>
    /// The sold date <paramref name="validUntil"/> moved by every outage inside the validity, the part of
    /// each after the sale and not under an earlier one (overlapping outages count once). An outage that
    /// begins before the moving end counts whole: the end moves past it as it counts (the fixed point of
    /// "moved by the outages before the moved date"), so a move can reach a later outage, which counts too.
    /// </summary>
    public static (DateTimeOffset Expires, IReadOnlyList<ValidityExtension> Extensions) Extend(DateTimeOffset issued, DateTimeOffset validUntil, IEnumerable<OutageWindow> windows)
    {
        var end = validUntil;
        var covered = issued;
        List<ValidityExtension> extensions = [];
        foreach (var w in windows.OrderBy(w => w.From))
        {
            var from = w.From > covered ? w.From : covered;
            if (w.From >= end)
            {
                break;
            }

            if (w.To > from)
            {
                extensions.Add(new ValidityExtension(w.IncidentId, w.From, w.To, (w.To - from).TotalSeconds));
                end += w.To - from;
                covered = w.To;
            }
        }

        return (end, extensions);
    }

    public async Task<VoucherView> ViewAsync(VoucherRecord voucher, string viewer, CancellationToken cancellationToken)
    {
        var (holdRead, claimRead, validityRead) = (
            payments.FindHoldAsync(GiftKeys.HoldId(voucher.Id), cancellationToken),
            store.ReadAsync(GiftKeys.Claim(voucher.Id), cancellationToken),
            ValidityAsync(voucher, cancellationToken));
        var (hold, claim, (expires, extensions)) = (await holdRead, await claimRead, await validityRead);
        var now = time.GetUtcNow();
        var settlement = hold?.Settlement;
        var state = hold is null ? VoucherState.Issuing
            : settlement is null ? (claim?.Value.HoldsAt(now) == true ? VoucherState.Held : VoucherState.Active)
            : settlement.Code == "gift-redeemed" ? VoucherState.Redeemed : VoucherState.Refunded;
        var refund = RefundOf(voucher.Price);
        var notice = state is VoucherState.Active or VoucherState.Held && expires - now <= NoticeBefore
            ? (now < expires
                ? $"Expires on {expires:yyyy-MM-dd}: use it by then, or ₩{refund:N0} (90%) goes back to the buyer's wallet."
                : $"Expired on {expires:yyyy-MM-dd}: ₩{refund:N0} (90%) goes back to the buyer's wallet.")
            : null;
        return new VoucherView(
            voucher.Id, voucher.ProductId, voucher.Product, voucher.MerchantId, voucher.Shop, voucher.Kind, voucher.Price, voucher.BuyerId, voucher.HolderId,
            voucher.ChatId, viewer == voucher.HolderId ? voucher.Code : null, state, voucher.Issued, voucher.ValidUntil, expires, extensions, notice,
            state == VoucherState.Refunded ? voucher.Price - settlement!.Captured : 0, settlement?.At);
    }

    /// <summary>
    /// Refunds a live voucher whose validity has ended (90% to the buyer, the rest to the shop), once; a
    /// voucher settled already, or held at a till, is left. Decided from the record alone first: a voucher
    /// sold less than a year ago reads nothing.
    /// </summary>
    public async Task ExpireAsync(VoucherRecord voucher, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now < voucher.ValidUntil)
        {
            return;
        }

        var bucket = await store.BucketAsync();
        var hold = await payments.FindHoldAsync(GiftKeys.HoldId(voucher.Id), cancellationToken);
        if (hold?.Settlement is null && hold is not null)
        {
            var (expires, _) = await ValidityAsync(voucher, cancellationToken);
            if (now < expires || (await store.ReadAsync(GiftKeys.Claim(voucher.Id), cancellationToken))?.Value.HoldsAt(now) == true)
            {
                return;
            }

            await payments.SettleAsync(hold.Id, GiftKeys.ExpiredId(voucher.Id), voucher.Price - RefundOf(voucher.Price), "gift-expired", cancellationToken);
        }

        await bucket.DeleteAsync(GiftKeys.Live(voucher.Id), cancellationToken);
    }

    /// <summary>Finishes a sale cut short once its own request has had time to (the ids make it safe either way).</summary>
    public async Task FinishSaleAsync(VoucherRecord sale, CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() - sale.Issued < IssueGrace)
        {
            return;
        }

        try
        {
            await IssueAsync(sale, cancellationToken);
        }
        catch (ApiProblem problem) when (problem.Status < 500)
        {
            // Refused (the buyer's wallet no longer holds enough): the sale was undone.
        }
    }

    private static VoucherRecord Same(VoucherRecord sold, BuyGiftRequest request) =>
        sold.ProductId == request.ProductId && sold.HolderId == request.To && sold.ChatId == request.ChatId && sold.Price == request.Price
            ? sold
            : throw ApiProblem.Conflict("this request id bought another gift");

    private static string NewCode() =>
        string.Concat(Enumerable.Range(0, 4).Select(_ => RandomNumberGenerator.GetInt32(0, 10_000).ToString("D4", CultureInfo.InvariantCulture)));
}
