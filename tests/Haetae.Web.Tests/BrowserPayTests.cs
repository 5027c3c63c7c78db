using Haetae.Testing;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>
/// Money in the web app, in Debian's headless Chromium: a person tops up their wallet from the bank,
/// their site burns, and they send money in a chat through another site; the friend accepts it, and
/// both wallets and both chats show it once. Then, with their site still burned, they pay at the
/// friend's shop: the till's code, approval in the app, a partial capture at the till.
/// </summary>
public sealed class BrowserPayTests
{
    private const float Phase = 60_000;

    [Fact]
    public async Task Money_sent_in_a_chat_while_the_payers_site_burns_arrives_once_and_is_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        await using var aliceContext = await browser.NewContextAsync(new() { Locale = "ko-KR" });
        await using var bobContext = await browser.NewContextAsync(new() { Locale = "en-GB" });
        var alice = await aliceContext.NewPageAsync();
        var bob = await bobContext.NewPageAsync();
        try
        {
            await RunAsync(cluster, alice, bob, ct);
        }
        catch
        {
            await Screenshots.TakeAsync(alice, "pay-failed-alice");
            await Screenshots.TakeAsync(bob, "pay-failed-bob");
            throw;
        }
    }

    private static async Task RunAsync(TestCluster cluster, IPage alice, IPage bob, CancellationToken ct)
    {
        var sites = cluster.Spec.Sites;
        await WebPeople.TwoFriendsAsync(alice, sites[0].NodeUri, "앨리스", bob, sites[1].NodeUri, "Bob");

        // Alice tops up ₩30,000 from the bank (its own process, outside every site).
        await alice.Locator("#open-wallet").ClickAsync();
        await alice.Locator("#topup-amount").FillAsync("30000");
        await alice.Locator("#topup-form button[type=submit]").ClickAsync();
        await Expect(alice.Locator("#wallet-balance")).ToHaveTextAsync("₩30,000", new() { Timeout = Phase });

        await alice.GetByLabel("Bob").CheckAsync();
        await alice.Locator("#new-chat-form button[type=submit]").ClickAsync();
        await Expect(alice.Locator("#send-money-form")).ToBeVisibleAsync(new() { Timeout = Phase });
        // The new chat reaches Bob's page before any message (a chat frame on his socket).
        await bob.Locator(".chat-item").First.ClickAsync(new() { Timeout = Phase });

        // Her site burns; the money she sends goes through another site, once.
        await cluster.Platform.FireAsync(sites[0].Name, ct);
        await alice.Locator("#money-amount").FillAsync("12000");
        await alice.Locator("#send-money").ClickAsync();
        var bobsMoney = bob.Locator("#messages .money");
        await Expect(bobsMoney).ToContainTextAsync("₩12,000", new() { Timeout = Phase });
        await Expect(bobsMoney.Locator("button.accept")).ToBeVisibleAsync(new() { Timeout = Phase });
        await bobsMoney.Locator("button.accept").ClickAsync();
        await Expect(bobsMoney).ToContainTextAsync("accepted", new() { Timeout = Phase });
        await Expect(alice.Locator("#outbox")).ToHaveTextAsync("", new() { Timeout = Phase });
        await Expect(alice.Locator("#site")).Not.ToContainTextAsync(sites[0].Name, new() { Timeout = Phase });
        // Her own message reaches her page over her realtime connection, which moved sites with the fire.
        await Expect(alice.Locator("#messages .money")).ToContainTextAsync("₩12,000", new() { Timeout = Phase });
        await Screenshots.TakeAsync(alice, "pay-in-chat-alice");
        await Screenshots.TakeAsync(bob, "pay-in-chat-bob");

        Assert.Equal(1, await alice.Locator("#messages .money").CountAsync());
        Assert.Equal(1, await bobsMoney.CountAsync());
        await bob.Locator("#open-wallet").ClickAsync();
        await Expect(bob.Locator("#wallet-balance")).ToHaveTextAsync("₩12,000", new() { Timeout = Phase });
        await Expect(bob.Locator("#wallet-history")).ToContainTextAsync("앨리스", new() { Timeout = Phase });
        await alice.Locator("#open-wallet").ClickAsync();
        await Expect(alice.Locator("#wallet-balance")).ToHaveTextAsync("₩18,000", new() { Timeout = Phase });

        // Bob keeps a shop: his till (the point-of-sale page every node serves, signed in as he is in the
        // app) asks for ₩5,000; Alice, her site still burned, approves it in her app; he captures ₩4,000.
        var till = await bob.Context.NewPageAsync();
        await till.GotoAsync(new Uri(sites[1].NodeUri, "pos/").ToString());
        await till.Locator("#shop-name").FillAsync("Bob's café");
        await till.Locator("#open-shop-form button[type=submit]").ClickAsync();
        await Expect(till.Locator("#pos-charge")).ToBeVisibleAsync(new() { Timeout = Phase });
        await till.Locator("#charge-amount").FillAsync("5000");
        await till.Locator("#charge-form button[type=submit]").ClickAsync();
        await Expect(till.Locator("#charge-code")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]{8}$"), new() { Timeout = Phase });
        var code = await till.Locator("#charge-code").InnerTextAsync();
        await alice.Locator("#shop-code").FillAsync(code);
        await alice.Locator("#shop-code-form button[type=submit]").ClickAsync();
        await Expect(alice.Locator("#shop-payment-what")).ToContainTextAsync("Bob's café", new() { Timeout = Phase });
        await alice.Locator("#approve-payment").ClickAsync();
        await Expect(alice.Locator("#wallet-held")).ToHaveTextAsync("₩5,000", new() { Timeout = Phase });
        await Expect(till.Locator("#charge-state")).ToHaveTextAsync("Approved", new() { Timeout = Phase });
        await till.Locator("#capture-amount").FillAsync("4000");
        await till.Locator("#capture").ClickAsync();
        await Expect(till.Locator("#charge-state")).ToHaveTextAsync("Captured", new() { Timeout = Phase });
        await Expect(till.Locator("#shop-balance")).ToHaveTextAsync("₩4,000", new() { Timeout = Phase });
        await Screenshots.TakeAsync(till, "pay-till");
        // Her page came from the burned site, so it cannot be reloaded: she opens the wallet again instead.
        await alice.Locator("#close-wallet").ClickAsync();
        await alice.Locator("#open-wallet").ClickAsync();
        await Expect(alice.Locator("#wallet-balance")).ToHaveTextAsync("₩14,000", new() { Timeout = Phase });
        await Expect(alice.Locator("#wallet-held")).ToHaveTextAsync("₩0", new() { Timeout = Phase });
        await Screenshots.TakeAsync(alice, "pay-wallet-alice");
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
