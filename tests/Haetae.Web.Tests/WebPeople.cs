using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>People in the web app, as the browser tests make them: signed up through the page, friends added by ID.</summary>
internal static class WebPeople
{
    public const string Password = "correct horse battery";

    private const float Phase = 60_000;

    /// <summary>Signs up through the page (a new e-mail unless one is given) and returns the person's ID as the page shows it.</summary>
    public static async Task<string> SignUpAsync(IPage page, string name, string? email = null)
    {
        await page.Locator("#up-name").FillAsync(name);
        await page.Locator("#up-login").FillAsync(email ?? $"{Guid.NewGuid():N}@example.com");
        await page.Locator("#up-password").FillAsync(Password);
        await page.Locator("#sign-up-form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("#app")).ToBeVisibleAsync(new() { Timeout = Phase });
        return (await page.Locator("#me-id").InnerTextAsync()).Trim();
    }

    /// <summary>Adds a friend by ID and waits until the friend list shows them by <paramref name="name"/>.</summary>
    public static async Task AddFriendAsync(IPage page, string id, string name)
    {
        await page.Locator("#friend-who").FillAsync(id);
        await page.Locator("#add-friend-form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("#friend-list")).ToContainTextAsync(name, new() { Timeout = Phase });
    }

    /// <summary>Two people, each signed up on the site their page was loaded from, who add each other as friends; their IDs.</summary>
    public static async Task<(string First, string Second)> TwoFriendsAsync(IPage first, Uri firstSite, string firstName, IPage second, Uri secondSite, string secondName)
    {
        await first.GotoAsync(firstSite.ToString());
        await second.GotoAsync(secondSite.ToString());
        var firstId = await SignUpAsync(first, firstName, $"{Guid.NewGuid():N}@example.com");
        var secondId = await SignUpAsync(second, secondName, $"{Guid.NewGuid():N}@example.com");
        await AddFriendAsync(first, secondId, secondName);
        await AddFriendAsync(second, firstId, firstName);
        return (firstId, secondId);
    }
}
