using Haetae.Testing;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>Every page passes axe's WCAG 2 A and AA rules (labels, contrast, names, structure) and works by keyboard on a phone-sized screen.</summary>
public sealed class AccessibilityTests
{
    private const float Phase = 60_000;

    [Fact]
    public async Task The_app_and_the_console_pass_the_wcag_rules_and_sign_up_works_by_keyboard_on_a_phone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct, withControls: true);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        await using var phone = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 390, Height = 844 }, Locale = "ko-KR", HasTouch = true });
        var page = await phone.NewPageAsync();
        await page.GotoAsync(cluster.Spec.Sites[1].NodeUri.ToString());
        await Browsers.AssertAccessibleAsync(page, "sign-in page");

        // Keyboard only: Tab to the sign-up form, type, Enter.
        for (var i = 0; i < 20 && await page.EvaluateAsync<string>("document.activeElement?.id ?? ''") != "up-name"; i++)
        {
            await page.Keyboard.PressAsync("Tab");
        }

        Assert.Equal("up-name", await page.EvaluateAsync<string>("document.activeElement?.id ?? ''"));
        await page.Keyboard.TypeAsync("키보드 사용자");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync($"keys-{Guid.NewGuid():N}@example.com");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync("correct horse battery");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#app")).ToBeVisibleAsync(new() { Timeout = Phase });
        await Assertions.Expect(page.Locator("#me-name")).ToHaveTextAsync("키보드 사용자");
        await Browsers.AssertAccessibleAsync(page, "signed-in app");

        await page.Locator("#open-profiles").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator(".profile-editor")).ToHaveCountAsync(1, new() { Timeout = Phase });
        await Browsers.AssertAccessibleAsync(page, "profile editor");

        var console = await phone.NewPageAsync();
        await console.GotoAsync(new Uri(cluster.Spec.Sites[2].NodeUri, "console/").ToString());
        await Assertions.Expect(console.Locator("#site-rows tr")).ToHaveCountAsync(3, new() { Timeout = Phase });
        await Browsers.AssertAccessibleAsync(console, "console");
    }
}
