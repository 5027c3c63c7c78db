using Haetae.Testing;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>
/// Gift vouchers in the web app, in Debian's headless Chromium: a shop's keeper puts a coffee in the
/// catalog at his till; a friend tops up, her site burns, and she buys him the coffee in their chat
/// through another site; the gift shows once in both chats, the voucher with its code in his vouchers;
/// his till holds it, completes it, and is paid once; her wallet pays for it once.
/// </summary>
public sealed class BrowserGiftTests
{
    private const float Phase = 60_000;

    [Fact]
    public async Task A_gift_bought_in_a_chat_while_the_buyers_site_burns_is_redeemed_once_at_the_shop()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        await using var aliceContext = await browser.NewContextAsync(new() { Locale = "ko-KR" });
        await using var bobContext = await browser.NewContextAsync(new() { Locale = "en-GB" });
        var alice = await aliceContext.NewPageAsync();
        var bob = await bobContext.NewPageAsync();
        var till = await bobContext.NewPageAsync();
        try
        {
            await RunAsync(cluster, alice, bob, till, ct);
        }
        catch
        {
            await Screenshots.TakeAsync(alice, "gift-failed-alice");
            await Screenshots.TakeAsync(bob, "gift-failed-bob");
            await Screenshots.TakeAsync(till, "gift-failed-till");
            throw;
        }
    }

    private static async Task RunAsync(TestCluster cluster, IPage alice, IPage bob, IPage till, CancellationToken ct)
    {
        var sites = cluster.Spec.Sites;
        await WebPeople.TwoFriendsAsync(alice, sites[0].NodeUri, "앨리스", bob, sites[1].NodeUri, "Bob");

        // Bob's till (served by every node, signed in as he is in the app): a shop, and a coffee for gifts.
        await till.GotoAsync(new Uri(sites[1].NodeUri, "pos/").ToString());
        await till.Locator("#shop-name").FillAsync("Bob's café");
        await till.Locator("#open-shop-form button[type=submit]").ClickAsync();
        await Expect(till.Locator("#pos-gifts")).ToBeVisibleAsync(new() { Timeout = Phase });
        await till.Locator("#product-name").FillAsync("Americano");
        await till.Locator("#product-price").FillAsync("4500");
        await till.Locator("#product-form button[type=submit]").ClickAsync();
        await Expect(till.Locator("#product-list")).ToContainTextAsync("Americano · ₩4,500", new() { Timeout = Phase });

        await alice.Locator("#open-wallet").ClickAsync();
        await alice.Locator("#topup-amount").FillAsync("20000");
        await alice.Locator("#topup-form button[type=submit]").ClickAsync();
        await Expect(alice.Locator("#wallet-balance")).ToHaveTextAsync("₩20,000", new() { Timeout = Phase });
        await alice.Locator("#close-wallet").ClickAsync();
        await alice.GetByLabel("Bob", new() { Exact = true }).CheckAsync();
        await alice.Locator("#new-chat-form button[type=submit]").ClickAsync();
        await Expect(alice.Locator("#send-gift-form")).ToBeVisibleAsync(new() { Timeout = Phase });
        await Expect(alice.Locator("#gift-product")).ToContainTextAsync("Americano", new() { Timeout = Phase });
        await bob.Locator(".chat-item").First.ClickAsync(new() { Timeout = Phase });

        // Her site burns; the gift she buys goes through another site, once.
        await cluster.Platform.FireAsync(sites[0].Name, ct);
        await alice.Locator("#send-gift").ClickAsync();
        var bobsGift = bob.Locator("#messages .gift");
        await Expect(bobsGift).ToContainTextAsync("Americano · Bob's café", new() { Timeout = Phase });
        await Expect(bobsGift).ToContainTextAsync("ready to use", new() { Timeout = Phase });
        await Expect(alice.Locator("#outbox")).ToHaveTextAsync("", new() { Timeout = Phase });
        await Expect(alice.Locator("#messages .gift")).ToContainTextAsync("Americano", new() { Timeout = Phase });
        Assert.Equal(1, await alice.Locator("#messages .gift").CountAsync());
        Assert.Equal(1, await bobsGift.CountAsync());
        await Screenshots.TakeAsync(alice, "gift-in-chat-alice");

        // Bob opens his vouchers: the coffee, its code, a year's validity.
        await bobsGift.Locator("button.open-voucher").ClickAsync();
        var voucher = bob.Locator("#voucher-list .voucher");
        await Expect(voucher).ToContainTextAsync("ready to use", new() { Timeout = Phase });
        await Expect(voucher.Locator(".voucher-code")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]{4}( [0-9]{4}){3}$"), new() { Timeout = Phase });
        await Browsers.AssertAccessibleAsync(bob, "my vouchers");
        await Screenshots.TakeAsync(bob, "gift-vouchers-bob");
        var code = await voucher.Locator(".voucher-code").InnerTextAsync();

        // The till holds it while the coffee is made, then completes it: the shop is paid once.
        await till.Locator("#voucher-code").FillAsync(code);
        await till.Locator("#redeem-form button[type=submit]").ClickAsync();
        await Expect(till.Locator("#redemption-state")).ToHaveTextAsync("Held", new() { Timeout = Phase });
        await Expect(till.Locator("#redemption-what")).ToHaveTextAsync("Americano · ₩4,500");
        await till.Locator("#complete-redemption").ClickAsync();
        await Expect(till.Locator("#redemption-state")).ToHaveTextAsync("Completed", new() { Timeout = Phase });
        await Expect(till.Locator("#shop-balance")).ToHaveTextAsync("₩4,500", new() { Timeout = Phase });
        await till.Locator("#voucher-code").FillAsync(code);
        await till.Locator("#redeem-form button[type=submit]").ClickAsync();
        await Expect(till.Locator("#pos-error")).Not.ToBeEmptyAsync(new() { Timeout = Phase });
        await Browsers.AssertAccessibleAsync(till, "the till with a redemption");
        await Screenshots.TakeAsync(till, "gift-till");

        await bob.Locator("#close-vouchers").ClickAsync();
        await bob.Locator("#open-vouchers").ClickAsync();
        await Expect(voucher).ToContainTextAsync("used", new() { Timeout = Phase });
        await alice.Locator("#open-wallet").ClickAsync();
        await Expect(alice.Locator("#wallet-balance")).ToHaveTextAsync("₩15,500", new() { Timeout = Phase });
        await Expect(alice.Locator("#wallet-held")).ToHaveTextAsync("₩0", new() { Timeout = Phase });
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
