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
