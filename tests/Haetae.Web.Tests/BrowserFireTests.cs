using Haetae.Testing;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>
/// The web app and the console in Debian's headless Chromium: two people chat from two sites, the
/// site of one burns (from the console's button), both keep chatting and nothing typed is lost, and the
/// console shows the fire and the rebuild.
/// </summary>
public sealed class BrowserFireTests
{
    private const float Phase = 60_000;

    [Fact]
    public async Task Two_people_keep_chatting_through_a_fire_and_the_console_shows_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct, withControls: true);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        await using var aliceContext = await browser.NewContextAsync(new() { Locale = "ko-KR" });
        await using var bobContext = await browser.NewContextAsync(new() { Locale = "en-GB", ViewportSize = new() { Width = 390, Height = 844 } });
        await using var consoleContext = await browser.NewContextAsync();
        var alice = await aliceContext.NewPageAsync();
        var bob = await bobContext.NewPageAsync();
        var console = await consoleContext.NewPageAsync();
        try
        {
            await RunAsync(cluster, alice, bob, console);
        }
        catch
        {
            // What each page showed when it failed, beside the test's output.
            await Screenshots.TakeAsync(alice, "failed-alice");
            await Screenshots.TakeAsync(bob, "failed-bob");
            await Screenshots.TakeAsync(console, "failed-console");
            throw;
        }
    }

    private static async Task RunAsync(TestCluster cluster, IPage alice, IPage bob, IPage console)
    {
        var sites = cluster.Spec.Sites;

        // Alice's browser loads the app from the site that will burn; Bob's from another.
        await alice.GotoAsync(sites[0].NodeUri.ToString());
        await bob.GotoAsync(sites[1].NodeUri.ToString());
        var aliceId = await WebPeople.SignUpAsync(alice, "앨리스", $"alice-{Guid.NewGuid():N}@example.com");
        var bobId = await WebPeople.SignUpAsync(bob, "Bob", $"bob-{Guid.NewGuid():N}@example.com");
        await WebPeople.AddFriendAsync(alice, bobId, "Bob");
        await WebPeople.AddFriendAsync(bob, aliceId, "앨리스");

        await alice.GetByLabel("Bob").CheckAsync();
        await alice.Locator("#new-chat-form button[type=submit]").ClickAsync();
        await SendAsync(alice, "안녕하세요, Bob!");
        await bob.Locator(".chat-item").First.ClickAsync(new() { Timeout = Phase });
        await Expect(bob.Locator("#messages")).ToContainTextAsync("안녕하세요, Bob!", new() { Timeout = Phase });
        await SendAsync(bob, "Hi Alice 👋");
        await Expect(alice.Locator("#messages")).ToContainTextAsync("Hi Alice 👋", new() { Timeout = Phase });
        // Read receipts: Bob has read Alice's message.
        await Expect(alice.Locator("#messages li.mine").First).ToContainTextAsync("읽음", new() { Timeout = Phase });

        // Alice is typing when the fire starts.
        await alice.Locator("#draft").FillAsync("쓰는 중이던 메시지");

        // The console, from the third site, burns Alice's site (after asking).
        await console.GotoAsync(new Uri(sites[2].NodeUri, "console/").ToString());
        await Expect(console.Locator($"#site-rows tr[data-site={sites[0].Name}] td.state")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("up"), new() { Timeout = Phase });
        await console.GetByRole(AriaRole.Button, new() { Name = $"Burn {sites[0].Name}" }).ClickAsync();
        await Expect(console.Locator("#confirm")).ToBeVisibleAsync();
        await console.Locator("#confirm-ok").ClickAsync();
        await Expect(console.Locator($"#site-rows tr[data-site={sites[0].Name}] td.state")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("down"), new() { Timeout = Phase });
        await Expect(console.Locator("#events")).ToContainTextAsync($"{sites[0].Name} stopped answering", new() { Timeout = Phase });

        // Nothing typed is lost; what Alice sends now reaches Bob through another site, and back.
        await Expect(alice.Locator("#draft")).ToHaveValueAsync("쓰는 중이던 메시지");
        await alice.Locator("#send").ClickAsync();
        await Expect(bob.Locator("#messages")).ToContainTextAsync("쓰는 중이던 메시지", new() { Timeout = Phase });
        await SendAsync(alice, "불이 났어요, 그래도 괜찮아요");
        await Expect(bob.Locator("#messages")).ToContainTextAsync("불이 났어요, 그래도 괜찮아요", new() { Timeout = Phase });
        await SendAsync(bob, "Still here");
        await Expect(alice.Locator("#messages")).ToContainTextAsync("Still here", new() { Timeout = Phase });
        await Expect(alice.Locator("#site")).Not.ToContainTextAsync(sites[0].Name, new() { Timeout = Phase });
        await Expect(alice.Locator("#outbox")).ToHaveTextAsync("", new() { Timeout = Phase });
        await Screenshots.TakeAsync(alice, "chat-during-fire-alice");
        await Screenshots.TakeAsync(bob, "chat-during-fire-bob");
        await Screenshots.TakeAsync(console, "console-during-fire");

        // Each message once, in order, on both sides.
        foreach (var page in new[] { alice, bob })
        {
            var texts = await page.Locator("#messages li .text").AllInnerTextsAsync();
            Assert.Equal(["안녕하세요, Bob!", "Hi Alice 👋", "쓰는 중이던 메시지", "불이 났어요, 그래도 괜찮아요", "Still here"], texts);
        }

        // The rebuild, from the console, until full redundancy is back.
        await console.GetByRole(AriaRole.Button, new() { Name = $"Rebuild {sites[0].Name}" }).ClickAsync();
        await console.Locator("#confirm-ok").ClickAsync();
        await Expect(console.Locator("#events")).ToContainTextAsync($"{sites[0].Name} is back", new() { Timeout = 120_000 });
        await Expect(console.Locator("#events")).ToContainTextAsync("full redundancy is back", new() { Timeout = 300_000 });
        await Screenshots.TakeAsync(console, "console-after-rebuild");
    }

    private static async Task SendAsync(IPage page, string text)
    {
        await page.Locator("#draft").FillAsync(text);
        await page.Locator("#send").ClickAsync();
        await Expect(page.Locator("#messages")).ToContainTextAsync(text, new() { Timeout = Phase });
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
