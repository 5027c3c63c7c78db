using Haetae.Testing;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>
/// A scooter ride in the web app, in Debian's headless Chromium: a rider unlocks a scooter, then loses
/// the platform (every site cut off from the browser, and the scooters' own network cut too), ends the
/// ride through the scooter over the short-range channel, and sees the fare settle once, from the
/// scooter's signed times, when the platform is back.
/// </summary>
public sealed class BrowserRideTests
{
    private const float Phase = 60_000;

    [Fact]
    public async Task A_ride_ended_through_the_scooter_while_every_site_is_cut_off_settles_its_fare_once_the_platform_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        await using var context = await browser.NewContextAsync(new() { Locale = "en-GB" });
        var sites = cluster.Spec.Sites.Select(s => s.NodeUri.GetLeftPart(UriPartial.Authority)).ToList();
        var sockets = new List<IWebSocketRoute>();
        var cut = false;

        // The browser's links to every site, which the test cuts: its requests fail, its realtime sockets close.
        await context.RouteAsync(url => sites.Any(s => url.StartsWith(s, StringComparison.Ordinal)), route => cut ? route.AbortAsync() : route.ContinueAsync());
        await context.RouteWebSocketAsync(url => sites.Any(s => url.Replace("ws://", "http://", StringComparison.Ordinal).StartsWith(s, StringComparison.Ordinal)), socket =>
        {
            if (cut)
            {
                _ = socket.CloseAsync();
                return;
            }

            lock (sockets)
            {
                sockets.Add(socket);
            }

            socket.ConnectToServer();
        });
        var page = await context.NewPageAsync();
        try
        {
            await page.GotoAsync(cluster.Spec.Sites[0].NodeUri.ToString());
            await WebPeople.SignUpAsync(page, "Rider", $"rider-{Guid.NewGuid():N}@example.com");
            await page.Locator("#open-wallet").ClickAsync();
            await page.Locator("#topup-amount").FillAsync("30000");
            await page.Locator("#topup-form button[type=submit]").ClickAsync();
            await Expect(page.Locator("#wallet-balance")).ToHaveTextAsync("₩30,000", new() { Timeout = Phase });
            await page.Locator("#close-wallet").ClickAsync();

            await page.Locator("#open-rides").ClickAsync();
            await Expect(page.Locator("#ride-map circle.free").First).ToBeAttachedAsync(new() { Timeout = Phase });
            await page.Locator("#scooter-list button.unlock").First.ClickAsync(new() { Timeout = Phase });
            await Expect(page.Locator("#ride-now")).ToContainTextAsync("Riding", new() { Timeout = Phase });
            await Expect(page.Locator("#ride-now")).ToContainTextAsync("so far ₩1,150");
            await Browsers.AssertAccessibleAsync(page, "a ride in progress");
            await Screenshots.TakeAsync(page, "ride-in-progress");

            // The platform is lost: every site cut off from the browser, and the scooters' network too.
            cut = true;
            IWebSocketRoute[] open;
            lock (sockets)
            {
                open = [.. sockets];
            }

            foreach (var socket in open)
            {
                await socket.CloseAsync();
            }

            await cluster.Platform.Fleet!.SetNetworkAsync(down: true, ct);
            await page.Locator("#end-ride").ClickAsync();
            await Expect(page.Locator("#ride-now")).ToContainTextAsync("ended at the scooter", new() { Timeout = Phase });
            await Screenshots.TakeAsync(page, "ride-ended-at-the-scooter");

            // Back: the phone's receipt goes up, the fare is charged once from the signed times.
            cut = false;
            var history = page.Locator("#ride-history .ride");
            await Expect(history).ToContainTextAsync("your phone", new() { Timeout = Phase });
            await cluster.Platform.Fleet.SetNetworkAsync(down: false, ct);
            await Expect(history).ToContainTextAsync("start ₩1,000 + 1 min × ₩150 = ₩1,150", new() { Timeout = Phase });
            await Expect(page.Locator("#ride-now")).ToHaveTextAsync("No ride in progress", new() { Timeout = Phase });
            await Screenshots.TakeAsync(page, "ride-history");
            await page.Locator("#close-rides").ClickAsync();
            await page.Locator("#open-wallet").ClickAsync();
            await Expect(page.Locator("#wallet-balance")).ToHaveTextAsync("₩28,850", new() { Timeout = Phase });
            await Expect(page.Locator("#wallet-held")).ToHaveTextAsync("₩0", new() { Timeout = Phase });
            Assert.Equal(1, await history.CountAsync());
        }
        catch
        {
            await Screenshots.TakeAsync(page, "ride-failed");
            throw;
        }
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
