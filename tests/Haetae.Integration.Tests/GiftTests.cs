using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Gifts;
using Haetae.Pay;
using Haetae.Platform;
using Haetae.Platform.Store;
using Haetae.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream;

namespace Haetae.Integration.Tests;

/// <summary>Gift vouchers through three real nodes: bought in a chat, paid through pay, redeemed once at a till, moved by outages, refunded after expiry.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class GiftTests(SharedClusterFixture fixture)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(30);

    private TestCluster Cluster => fixture.Cluster;

    private static async Task<HttpStatusCode> RefusedAsync(Func<Task> call) => (await Assert.ThrowsAsync<HaetaeApiException>(call)).Status;

    [Fact]
    public async Task A_gift_bought_in_a_chat_is_paid_shown_and_listed_once_even_when_bought_again_at_another_site()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Sora", 0).Person("Alice", 1).Person("Bob", 2).Person("Carol", 0).Chat("Alice", "Bob").BuildAsync(ct);
        var (sora, _) = people["Sora"];
        var (alice, aliceUser) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (carol, _) = people["Carol"];
        var chat = people.Chats[0];
        var shop = await sora.Pay.OpenMerchantAsync("카페 해태", cancellationToken: ct);
        var coffee = await sora.Gifts.AddProductAsync(shop.Id, "아메리카노", ProductKind.Item, 4_500, cancellationToken: ct);
        var cake = await sora.Gifts.AddProductAsync(shop.Id, "케이크", ProductKind.Item, 30_000, cancellationToken: ct);
        await alice.Pay.TopUpAsync(20_000, cancellationToken: ct);
        await using var bobsPhone = new HaetaeRealtime(bob);
        await bobsPhone.Live.WaitAsync(DeviceFrames.Phase, ct);

        var catalog = await alice.Gifts.ProductsAsync(cancellationToken: ct);
        var bought = await alice.Gifts.BuyAsync(coffee.Id, 4_500, bobUser.Id, chat.Id, "coffee-for-bob", ct);
        var again = await ChatTestUsers.SameCallerAt(Cluster, alice, 0).Gifts.BuyAsync(coffee.Id, 4_500, bobUser.Id, chat.Id, "coffee-for-bob", ct);
        var shown = (await DeviceFrames.NextMessagesAsync(bobsPhone, 1, "the gift on Bob's phone", ct))[0];
        var mine = await bob.Gifts.MineAsync(ct);

        Assert.Contains(catalog, p => p.Id == coffee.Id && p.Shop == "카페 해태" && p.Price == 4_500);
        Assert.Equal((VoucherState.Active, (string?)null, aliceUser.Id, bobUser.Id), (bought.State, bought.Code, bought.BuyerId, bought.HolderId));
        Assert.Equal(JsonSerializer.Serialize(bought, HaetaeJson.Options), JsonSerializer.Serialize(again, HaetaeJson.Options));
        Assert.Equal((MessageKind.Gift, aliceUser.Id, new GiftNote(bought.Id, "아메리카노", "카페 해태", 4_500)), (shown.Kind, shown.SenderId, shown.Gift));
        Assert.Equal([bought.Id], (await alice.Chat.GetMessagesAsync(chat.Id, cancellationToken: ct)).Messages.Where(m => m.Kind == MessageKind.Gift).Select(m => m.Gift!.VoucherId));
        var held = Assert.Single(mine);
        Assert.Equal((bought.Id, VoucherState.Active, 4_500L), (held.Id, held.State, held.Price));
        Assert.Matches("^[0-9]{16}$", held.Code);
        Assert.Equal(held.Issued.AddYears(1), held.ValidUntil);
        Assert.Equal(held.ValidUntil + TimeSpan.FromSeconds(held.Extensions.Sum(e => e.Seconds)), held.Expires, TimeSpan.FromMilliseconds(1));
        Assert.Equal(new WalletView(20_000, 15_500, 4_500, 0), await alice.Pay.WalletAsync(ct));

        // A price that changed under the buyer, a wallet that does not hold enough, and other bad input: nothing bought.
        await sora.Gifts.ChangeProductAsync(cake.Id, new ProductChange(Price: 32_000), ct);
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => alice.Gifts.BuyAsync(cake.Id, 30_000, bobUser.Id, chat.Id, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => alice.Gifts.BuyAsync(cake.Id, 32_000, bobUser.Id, chat.Id, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusedAsync(() => alice.Gifts.BuyAsync(coffee.Id, 4_500, aliceUser.Id, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => alice.Gifts.BuyAsync("gp0000000000000000", 4_500, bobUser.Id, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.Forbidden, await RefusedAsync(() => carol.Gifts.BuyAsync(coffee.Id, 4_500, bobUser.Id, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await RefusedAsync(() => alice.Gifts.BuyAsync(cake.Id, 32_000, bobUser.Id, chat.Id, "coffee-for-bob", ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => carol.Gifts.VoucherAsync(bought.Id, ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => carol.Gifts.AddProductAsync(shop.Id, "도둑", ProductKind.Item, 1, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusedAsync(() => sora.Gifts.AddProductAsync(shop.Id, "공짜", ProductKind.Item, 0, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusedAsync(() => sora.Gifts.AddProductAsync(shop.Id, "", ProductKind.Amount, 10_000, cancellationToken: ct)));
        Assert.Single(await bob.Gifts.MineAsync(ct));
        Assert.Equal(new WalletView(20_000, 15_500, 4_500, 0), await alice.Pay.WalletAsync(ct));
    }

    [Fact]
    public async Task A_voucher_is_redeemed_once_when_three_tills_at_three_sites_try_its_code_at_the_same_instant()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Sora", 0).Person("Alice", 1).Person("Bob", 2).Person("Jun", 1).Friends("Alice", "Bob").BuildAsync(ct);
        var (sora, _) = people["Sora"];
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (jun, _) = people["Jun"];
        var shop = await sora.Pay.OpenMerchantAsync("빵집", cancellationToken: ct);
        var otherShop = await jun.Pay.OpenMerchantAsync("꽃집", cancellationToken: ct);
        var bread = await sora.Gifts.AddProductAsync(shop.Id, "식빵", ProductKind.Item, 3_000, cancellationToken: ct);
        var card = await sora.Gifts.AddProductAsync(shop.Id, "₩10,000 상품권", ProductKind.Amount, 10_000, cancellationToken: ct);
        await alice.Pay.TopUpAsync(20_000, cancellationToken: ct);
        var first = await alice.Gifts.BuyAsync(bread.Id, 3_000, bobUser.Id, cancellationToken: ct);
        var second = await alice.Gifts.BuyAsync(card.Id, 10_000, bobUser.Id, cancellationToken: ct);
        var codes = (await bob.Gifts.MineAsync(ct)).ToDictionary(v => v.Id, v => v.Code!);

        var tries = await Task.WhenAll(Enumerable.Range(0, 3).Select(async site =>
        {
            try
            {
                return (HttpStatusCode.Created, await ChatTestUsers.SameCallerAt(Cluster, sora, site).Gifts.RedeemAsync(shop.Id, codes[first.Id], cancellationToken: ct));
            }
            catch (HaetaeApiException e)
            {
                return (e.Status, (RedemptionView?)null);
            }
        }));
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Conflict, HttpStatusCode.Conflict], tries.Select(t => t.Item1).Order());
        var redemption = tries.Single(t => t.Item2 is not null).Item2!;
        Assert.Equal(VoucherState.Held, (await bob.Gifts.VoucherAsync(first.Id, ct)).State);
        var completed = await sora.Gifts.CompleteAsync(redemption.Id, ct);
        var completedAgain = await ChatTestUsers.SameCallerAt(Cluster, sora, 2).Gifts.CompleteAsync(redemption.Id, ct);

        Assert.Equal((RedemptionState.Completed, 3_000L), (completed.State, completed.Price));
        Assert.Equal(completed, completedAgain);
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Gifts.RedeemAsync(shop.Id, codes[first.Id], cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Gifts.ReleaseAsync(redemption.Id, ct)));
        Assert.Equal(VoucherState.Redeemed, (await bob.Gifts.VoucherAsync(first.Id, ct)).State);

        // A till that releases lets the next one take the voucher; another shop, an unknown code or someone else's redemption is refused.
        Assert.Equal(HttpStatusCode.Forbidden, await RefusedAsync(() => jun.Gifts.RedeemAsync(otherShop.Id, codes[second.Id], cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => jun.Gifts.RedeemAsync(shop.Id, codes[second.Id], cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => sora.Gifts.RedeemAsync(shop.Id, "0000000000000000", cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => sora.Gifts.RedeemAsync(shop.Id, "../*", cancellationToken: ct)));
        var held = await ChatTestUsers.SameCallerAt(Cluster, sora, 1).Gifts.RedeemAsync(shop.Id, codes[second.Id], cancellationToken: ct);
        Assert.Equal(HttpStatusCode.NotFound, await RefusedAsync(() => jun.Gifts.CompleteAsync(held.Id, ct)));
        var released = await sora.Gifts.ReleaseAsync(held.Id, ct);
        Assert.Equal(HttpStatusCode.Conflict, await RefusedAsync(() => sora.Gifts.CompleteAsync(held.Id, ct)));
        Assert.Equal(VoucherState.Active, (await bob.Gifts.VoucherAsync(second.Id, ct)).State);
        var next = await ChatTestUsers.SameCallerAt(Cluster, sora, 2).Gifts.RedeemAsync(shop.Id, codes[second.Id].Insert(4, " "), cancellationToken: ct);
        var done = await sora.Gifts.CompleteAsync(next.Id, ct);

        Assert.Equal((RedemptionState.Held, RedemptionState.Released, RedemptionState.Completed), (held.State, released.State, done.State));
        Assert.Equal(new WalletView(7_000, 7_000, 0, 0), await alice.Pay.WalletAsync(ct));
        Assert.Equal((13_000L, 0L), (await sora.Pay.MerchantsAsync(ct)).Select(m => (m.Balance, m.Approved)).Single());
    }

    [Fact]
    public async Task A_voucher_outlives_a_recorded_outage_of_gifts_by_its_length_and_after_it_expires_90_percent_goes_back_once()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Sora", 2).Person("Alice", 0).Person("Bob", 1).Friends("Alice", "Bob").BuildAsync(ct);
        var (sora, _) = people["Sora"];
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var shop = await sora.Pay.OpenMerchantAsync("케이크 가게", cancellationToken: ct);
        var cake = await sora.Gifts.AddProductAsync(shop.Id, "조각 케이크", ProductKind.Item, 6_500, cancellationToken: ct);
        await alice.Pay.TopUpAsync(10_000, cancellationToken: ct);
        var voucher = await alice.Gifts.BuyAsync(cake.Id, 6_500, bobUser.Id, cancellationToken: ct);

        // An outage of gifts, opened by an operator and resolved once it has lasted more than two seconds.
        using var admin = new HttpClient { BaseAddress = Cluster.Spec.Sites[0].NodeUri, Timeout = TimeSpan.FromSeconds(20) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Cluster.Spec.Secrets.AdminKey);
        var opened = await Eventually.WaitForAsync(
            "opening the outage", Phase,
            c => admin.PostAsJsonAsync("/api/status/incidents", new OpenIncidentRequest("Vouchers cannot be redeemed", "Shops cannot take vouchers.", [$"gifts@{Cluster.Spec.Sites[1].Name}"], IncidentImpact.Major), HaetaeJson.Options, c),
            r => r.StatusCode != HttpStatusCode.ServiceUnavailable, ct);
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        var incident = (await opened.Content.ReadFromJsonAsync<IncidentView>(HaetaeJson.Options, ct))!;
        await Eventually.WaitForAsync(
            "the open outage moving the voucher by two seconds", Phase, c => bob.Gifts.VoucherAsync(voucher.Id, c),
            v => v.Extensions.Any(e => e.IncidentId == incident.Id && e.Seconds > 2), ct);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/status/incidents/{incident.Id}/updates", new IncidentUpdateRequest(IncidentStage.Resolved, "Fixed."), HaetaeJson.Options, ct)).StatusCode);
        var resolved = (await admin.GetFromJsonAsync<IncidentView>($"/api/status/incidents/{incident.Id}", HaetaeJson.Options, ct))!;
        var moved = await Eventually.WaitForAsync(
            "the resolved outage on the voucher at another site", Phase, c => ChatTestUsers.SameCallerAt(Cluster, bob, 2).Gifts.VoucherAsync(voucher.Id, c),
            v => v.Extensions.Any(e => e.IncidentId == incident.Id && e.To == resolved.End), ct);

        var extension = moved.Extensions.Single(e => e.IncidentId == incident.Id);
        Assert.Equal(resolved.Start, extension.From);
        Assert.Equal((resolved.End!.Value - resolved.Start).TotalSeconds, extension.Seconds, 6);
        Assert.Equal(moved.ValidUntil + TimeSpan.FromSeconds(moved.Extensions.Sum(e => e.Seconds)), moved.Expires, TimeSpan.FromMilliseconds(1));
        Assert.True(moved.Expires > moved.ValidUntil.AddSeconds(2), $"moved to {moved.Expires:O} from {moved.ValidUntil:O}");

        // The nodes' reconciler, run here as it would run a year from now: not before the moved date, then once.
        await using var sites = await Cluster.ConnectEachSiteAsync();
        var record = (await new GiftStore(new Buckets(new NatsJSContext(sites[0]))).ReadAsync(GiftKeys.Voucher(voucher.Id), ct))!.Value;
        Vouchers At(DateTimeOffset when, int site)
        {
            var later = new Later(when - DateTimeOffset.UtcNow);
            var buckets = new Buckets(new NatsJSContext(sites[site]));
            var ledger = new Ledger(sites[site], later);
            var wallets = new Wallets(ledger, null!, buckets, null!, null!, later, NullLogger<Wallets>.Instance);
            var payments = new Payments(ledger, wallets, buckets, later);
            return new Vouchers(new GiftStore(buckets), null!, payments, null!, null!, new OutagesOf(admin), later);
        }

        var tenDaysBefore = await At(moved.Expires.AddDays(-10), 1).ViewAsync(record, bobUser.Id, ct);
        var fortyDaysBefore = await At(moved.Expires.AddDays(-40), 1).ViewAsync(record, bobUser.Id, ct);
        await At(moved.Expires.AddSeconds(-1), 1).ExpireAsync(record, ct);
        var justBefore = await bob.Gifts.VoucherAsync(voucher.Id, ct);
        await At(moved.Expires.AddSeconds(1), 2).ExpireAsync(record, ct);
        await At(moved.Expires.AddSeconds(2), 0).ExpireAsync(record, ct);
        var refunded = await bob.Gifts.VoucherAsync(voucher.Id, ct);

        Assert.NotNull(tenDaysBefore.Notice);
        Assert.Null(fortyDaysBefore.Notice);
        Assert.Equal(VoucherState.Active, justBefore.State);
        Assert.Equal((VoucherState.Refunded, 5_850L), (refunded.State, refunded.Refunded));
        Assert.Equal(new WalletView(9_350, 9_350, 0, 0), await alice.Pay.WalletAsync(ct));
        Assert.Equal((650L, 0L), (await sora.Pay.MerchantsAsync(ct)).Select(m => (m.Balance, m.Approved)).Single());
        Assert.Equal(HttpStatusCode.Gone, await RefusedAsync(() => sora.Gifts.RedeemAsync(shop.Id, refunded.Code!, cancellationToken: ct)));
    }


    /// <summary>The incident record's outages, as every node's status API answers them.</summary>
    private sealed class OutagesOf(HttpClient node) : IOutages
    {
        public async Task<IReadOnlyList<OutageWindow>> OverlappingAsync(string service, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
            (await node.GetFromJsonAsync<List<OutageWindow>>(
                $"/api/status/outages?service={service}&from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}", HaetaeJson.Options, cancellationToken))!;
    }
}
