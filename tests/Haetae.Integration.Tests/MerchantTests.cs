using System.Net;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>Paying at a shop through three real nodes: approve (a hold), capture, void, refund.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class MerchantTests(SharedClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static async Task<HttpStatusCode> RefusedAsync(Func<Task> call) => (await Assert.ThrowsAsync<HaetaeApiException>(call)).Status;

    [Fact]
    public async Task A_shop_is_paid_once_captures_part_and_refunds_from_three_sites_at_once_never_exceed_the_capture()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Sora", 0).Person("Minji", 2).Person("Jun", 1).BuildAsync(ct);
        var (sora, _) = people["Sora"];
        var (minji, minjiUser) = people["Minji"];
        var (jun, _) = people["Jun"];
        var shop = await sora.Pay.OpenMerchantAsync("카페 해태", cancellationToken: ct);
        await minji.Pay.TopUpAsync(20_000, cancellationToken: ct);
        await jun.Pay.TopUpAsync(20_000, cancellationToken: ct);

        var charge = await sora.Pay.ChargeAsync(shop.Id, 8_000, cancellationToken: ct);
        var seen = await ChatTestUsers.SameCallerAt(Cluster, minji, 1).Pay.ByCodeAsync(charge.Code, ct);
        var approved = await minji.Pay.ApproveAsync(charge.Code, ct);
        var approvedAgain = await ChatTestUsers.SameCallerAt(Cluster, minji, 0).Pay.ApproveAsync(charge.Code, ct);
        var someoneElse = await RefusedAsync(() => jun.Pay.ApproveAsync(charge.Code, ct));
        var whileHeld = await minji.Pay.WalletAsync(ct);
        var captured = await sora.Pay.CaptureAsync(charge.Id, 6_000, ct);

        Assert.Equal(("카페 해태", 8_000L, ChargeState.Open, (string?)null), (seen.MerchantName, seen.Amount, seen.State, seen.PayerId));
        Assert.Equal((ChargeState.Approved, minjiUser.Id), (approved.State, approved.PayerId));
        Assert.Equal(approved, approvedAgain);
        Assert.Equal(HttpStatusCode.Conflict, someoneElse);
        Assert.Equal(new WalletView(20_000, 12_000, 8_000, 0), whileHeld);
        Assert.Equal((ChargeState.Captured, 6_000L), (captured.State, captured.Captured));
        Assert.Equal(new WalletView(14_000, 14_000, 0, 0), await minji.Pay.WalletAsync(ct));

        // Three refunds of ₩2,500 from three sites at the same instant: two fit in the ₩6,000 captured.
        var refunds = await Task.WhenAll(Enumerable.Range(0, 3).Select(async site =>
        {
            try
            {
                await ChatTestUsers.SameCallerAt(Cluster, sora, site).Pay.RefundAsync(charge.Id, 2_500, cancellationToken: ct);
                return HttpStatusCode.OK;
            }
            catch (HaetaeApiException e)
            {
                return e.Status;
            }
        }));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Conflict], refunds.Order());
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Pay.RefundAsync(charge.Id, 1_001, cancellationToken: ct)));
        var last = await sora.Pay.RefundAsync(charge.Id, 1_000, cancellationToken: ct);

        Assert.Equal((6_000L, 6_000L), (last.Captured, last.Refunded));
        Assert.Equal(new WalletView(20_000, 20_000, 0, 0), await minji.Pay.WalletAsync(ct));
        Assert.Equal((0L, 0L), (await sora.Pay.MerchantsAsync(ct)).Select(m => (m.Balance, m.Approved)).Single());
    }

    [Fact]
    public async Task A_voided_or_refused_payment_moves_nothing_and_bad_requests_get_a_problem()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Sora", 1).Person("Minji", 0).BuildAsync(ct);
        var (sora, _) = people["Sora"];
        var (minji, _) = people["Minji"];
        var shop = await sora.Pay.OpenMerchantAsync("빵집", cancellationToken: ct);
        await minji.Pay.TopUpAsync(5_000, cancellationToken: ct);
        var tooDear = await sora.Pay.ChargeAsync(shop.Id, 9_000, cancellationToken: ct);
        var charge = await sora.Pay.ChargeAsync(shop.Id, 4_000, cancellationToken: ct);

        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => minji.Pay.ApproveAsync(tooDear.Code, ct)));
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Pay.CaptureAsync(charge.Id, cancellationToken: ct)));
        await minji.Pay.ApproveAsync(charge.Code, ct);
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Pay.CaptureAsync(charge.Id, 4_001, ct)));
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Pay.RefundAsync(charge.Id, 1, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => minji.Pay.CaptureAsync(charge.Id, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusedAsync(() => sora.Pay.ApproveAsync(charge.Code, ct)));
        var voided = await sora.Pay.VoidAsync(charge.Id, ct);
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Pay.CaptureAsync(charge.Id, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => minji.Pay.ByCodeAsync("00000000", ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => minji.Pay.ByCodeAsync("../x", ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => minji.Pay.ChargeAsync(shop.Id, 100, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusedAsync(() => sora.Pay.ChargeAsync(shop.Id, 0, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusedAsync(() => sora.Pay.OpenMerchantAsync("", cancellationToken: ct)));

        Assert.Equal(ChargeState.Voided, voided.State);
        Assert.Equal(new WalletView(5_000, 5_000, 0, 0), await minji.Pay.WalletAsync(ct));
    }
}
