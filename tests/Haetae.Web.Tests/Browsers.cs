using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>Debian's Chromium, headless: never a browser Playwright downloads.</summary>
internal static class Browsers
{
    public const string Chromium = "/usr/bin/chromium";

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        File.Exists(Chromium)
            ? playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
            })
            : throw new InvalidOperationException($"{Chromium} is missing: install it with apt-get install -y chromium chromium-driver (./haetae test does when run as root)");

    /// <summary>axe finds no violation of the WCAG 2.0 and 2.1 A and AA rules on the page as it is now.</summary>
    public static async Task AssertAccessibleAsync(IPage page, string what)
    {
        var result = await page.RunAxe(new AxeRunOptions { RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
        var violations = result.Violations.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Take(3).Select(n => string.Join(" ", n.Target)))}").ToList();
        Assert.True(violations.Count == 0, $"{what}: {string.Join("; ", violations)}");
    }
}

/// <summary>Screenshots for the docs: written to artifacts/screenshots/ (copied to docs/screenshots/ by hand when they change).</summary>
internal static class Screenshots
{
    public static async Task TakeAsync(IPage page, string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "screenshots");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"{name}.png"), FullPage = true });
    }
}
