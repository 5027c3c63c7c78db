using System.Net.Http.Json;
using Haetae.Contracts;
using Haetae.Testing;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>The status page through a fire, the banner in the app, and the console's incident editor, in a real Chromium.</summary>
public sealed class BrowserStatusTests
{
    private const float Phase = 60_000;

    [Fact]
    public async Task A_fire_shows_on_the_status_page_of_a_surviving_site_and_as_a_banner_in_the_app_and_operators_write_incidents_in_the_console()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct, withControls: true);
        var sites = cluster.Spec.Sites;
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        await using var context = await browser.NewContextAsync(new() { Locale = "en-GB" });
        var app = await context.NewPageAsync();
        await app.GotoAsync(sites[0].NodeUri.ToString());
        await WebPeople.SignUpAsync(app, "Sora");
        var status = await context.NewPageAsync();
        await status.GotoAsync(new Uri(sites[1].NodeUri, "status").ToString());
        // A platform just started may still be catching up (degraded): the page says so until it is not.
        await ReloadUntilAsync(status, ".overall", "Every service is working.");
        await Browsers.AssertAccessibleAsync(status, "status page");

        await cluster.Platform.FireAsync(sites[0].Name, ct);

        // The banner comes over the app's realtime connection, which moved to a surviving site by itself.
        await Assertions.Expect(app.Locator("#notices .notice-incident")).ToContainTextAsync($"{sites[0].Name} stopped answering", new() { Timeout = Phase });
        // The page needs no script: it is read again as a person would, by reloading.
        await ReloadUntilAsync(status, "section.incident", $"{sites[0].Name} stopped answering");
        await Assertions.Expect(status.Locator("tbody tr").First).ToContainTextAsync("Major outage");
        await Browsers.AssertAccessibleAsync(status, "status page during a fire");
        await Screenshots.TakeAsync(status, "status-fire");

        await cluster.Platform.RebuildAsync(sites[0].Name, ct);
        await Assertions.Expect(app.Locator("#notices .notice-resolved")).ToBeVisibleAsync(new() { Timeout = Phase });
        await Assertions.Expect(app.Locator("#notices .notice-damages")).ToBeVisibleAsync(new() { Timeout = Phase });
        await ReloadUntilAsync(status, "ul.past", $"{sites[0].Name} stopped answering");
        await Browsers.AssertAccessibleAsync(status, "status page after the fire");

        // The console's incident editor, with the admin key.
        var console = await context.NewPageAsync();
        await console.GotoAsync(new Uri(sites[2].NodeUri, "console/").ToString());
        await console.Locator("#admin-key").FillAsync(cluster.Spec.Secrets.AdminKey);
        await console.Locator("#oi-title").FillAsync("Login slow at the exchange");
        await console.Locator("#oi-text").FillAsync("Sign-ins to the exchange take a few seconds.");
        await console.Locator("#oi-components").FillAsync($"login@{sites[2].Name}");
        await console.Locator("#open-incident button[type=submit]").ClickAsync();
        await Assertions.Expect(console.Locator("#incident-list")).ToContainTextAsync("Login slow at the exchange", new() { Timeout = Phase });
        await console.Locator("#ui-incident").SelectOptionAsync(new SelectOptionValue { Label = (await console.Locator("#ui-incident option", new() { HasText = "Login slow" }).InnerTextAsync()).Trim() });
        await console.Locator("#ui-stage").SelectOptionAsync("Resolved");
        await console.Locator("#ui-text").FillAsync("Back to normal.");
        await console.Locator("#update-incident button[type=submit]").ClickAsync();
        await Assertions.Expect(console.Locator("#incident-result")).ToContainTextAsync("Done", new() { Timeout = Phase });
        await Browsers.AssertAccessibleAsync(console, "console with the incident editor");

        using var http = new HttpClient { BaseAddress = sites[1].NodeUri };
        var incidents = await http.GetFromJsonAsync<List<IncidentView>>("/api/status/incidents", HaetaeJson.Options, ct);
        var fire = Assert.Single(incidents!, i => i.Cause == $"site.{sites[0].Name}");
        Assert.NotNull(fire.End);
        var manual = Assert.Single(incidents!, i => i.Title == "Login slow at the exchange");
        Assert.Equal((IncidentStage.Resolved, "Back to normal."), (manual.Stage, manual.Updates[^1].Text));
    }

    /// <summary>Reloads the page until <paramref name="selector"/> shows <paramref name="text"/> (the page is plain HTML: a reload is how it moves on).</summary>
    private static Task ReloadUntilAsync(IPage page, string selector, string text) =>
        Eventually.WaitForAsync(
            $"{selector} shows {text}",
            TimeSpan.FromMilliseconds(Phase),
            async _ =>
            {
                await page.ReloadAsync();
                return await page.Locator(selector).AllInnerTextsAsync();
            },
            texts => texts.Any(t => t.Contains(text, StringComparison.Ordinal)),
            TestContext.Current.CancellationToken);
}
