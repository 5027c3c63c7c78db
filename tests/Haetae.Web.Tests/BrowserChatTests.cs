using Haetae.Testing;
using Microsoft.Playwright;

namespace Haetae.Web.Tests;

/// <summary>The rest of the web app in a real browser: a group chat, unread counts, a photo, and a hidden profile.</summary>
public sealed class BrowserChatTests
{
    private const float Phase = 60_000;

    /// <summary>A 2x2 PNG.</summary>
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGM4IScHRAwQCgAfJgQRoo8irwAAAABJRU5ErkJggg==");

    [Fact]
    public async Task A_group_chat_with_unread_counts_a_photo_and_a_profile_only_one_friend_sees()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        var pages = new List<IPage>();
        for (var i = 0; i < 3; i++)
        {
            var context = await browser.NewContextAsync(new() { Locale = i == 0 ? "ko-KR" : "en-GB" });
            var page = await context.NewPageAsync();
            await page.GotoAsync(cluster.Spec.Sites[i].NodeUri.ToString());
            pages.Add(page);
        }

        var (minji, jun, sora) = (pages[0], pages[1], pages[2]);
        try
        {
            var minjiId = await WebPeople.SignUpAsync(minji, "민지");
            var junId = await WebPeople.SignUpAsync(jun, "Jun");
            var soraId = await WebPeople.SignUpAsync(sora, "Sora");
            await WebPeople.AddFriendAsync(minji, junId, "Jun");
            await WebPeople.AddFriendAsync(minji, soraId, "Sora");
            await WebPeople.AddFriendAsync(jun, minjiId, "민지");
            await WebPeople.AddFriendAsync(sora, minjiId, "민지");

            // A group of three, with a title.
            await minji.GetByLabel("Jun").CheckAsync();
            await minji.GetByLabel("Sora").CheckAsync();
            // The form's limits come from the node (GET /api/limits), not from copies in the page.
            await Assertions.Expect(minji.Locator("#chat-title")).ToHaveAttributeAsync("maxlength", "100", new() { Timeout = Phase });
            await minji.Locator("#chat-title").FillAsync("우리 모임");
            var siteBefore = await minji.Locator("#site").GetAttributeAsync("data-site");
            await minji.Locator("#new-chat-form button[type=submit]").ClickAsync();
            await Assertions.Expect(minji.Locator("#chat-title-h")).ToHaveTextAsync("우리 모임", new() { Timeout = Phase });
            await SendAsync(minji, "모두 안녕!");
            await SendAsync(minji, "두 번째 메시지");
            // Creating a chat does not move the app to another site (the node tells the socket of the new chat).
            await Assertions.Expect(minji.Locator("#site")).ToHaveAttributeAsync("data-site", siteBefore!, new() { Timeout = Phase });

            // Jun has not opened it: three unread (the group's "joined" notice and two messages). Opening it reads them.
            var junsChat = jun.Locator(".chat-item", new() { HasText = "우리 모임" });
            await Assertions.Expect(junsChat.Locator(".badge")).ToHaveTextAsync("3", new() { Timeout = Phase });
            // Lists render by key: the receipts Jun's reading sends Minji redraw her lines that changed, not the list.
            await minji.Locator("#messages li.system").First.EvaluateAsync("line => line.dataset.probe = 'kept'");
            await junsChat.ClickAsync();
            await Assertions.Expect(jun.Locator("#messages")).ToContainTextAsync("두 번째 메시지", new() { Timeout = Phase });
            await Assertions.Expect(junsChat.Locator(".badge")).ToHaveCountAsync(0, new() { Timeout = Phase });
            // Minji sees that one of the two others has read it.
            await Assertions.Expect(minji.Locator("#messages li.mine").Last).ToContainTextAsync("1 안 읽음", new() { Timeout = Phase });
            await Assertions.Expect(minji.Locator("#messages li.system[data-probe=kept]")).ToHaveCountAsync(1);

            // A photo.
            await minji.Locator("#photo").SetInputFilesAsync(new FilePayload { Name = "dot.png", MimeType = "image/png", Buffer = Png });
            await minji.Locator("#send").ClickAsync();
            var photo = jun.Locator("#messages img.photo");
            await Assertions.Expect(photo).ToHaveCountAsync(1, new() { Timeout = Phase });
            await Assertions.Expect(photo).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("^blob:"), new() { Timeout = Phase });
            Assert.Equal(2, await photo.EvaluateAsync<int>("img => img.naturalWidth"));

            // A photo larger than all of localStorage (about 5 MB): the outbox keeps it in IndexedDB.
            var large = new byte[6 * 1024 * 1024];
            Png.CopyTo(large, 0);
            await minji.Locator("#photo").SetInputFilesAsync(new FilePayload { Name = "large.png", MimeType = "image/png", Buffer = large });
            await minji.Locator("#send").ClickAsync();
            await Assertions.Expect(photo).ToHaveCountAsync(2, new() { Timeout = Phase });
            await Assertions.Expect(minji.Locator("#outbox")).ToHaveTextAsync("", new() { Timeout = Phase });

            // A second profile that only Sora is shown.
            await minji.Locator("#open-profiles").ClickAsync();
            await minji.Locator("#add-profile").ClickAsync();
            var extra = minji.Locator(".profile-editor").Nth(1);
            await Assertions.Expect(extra).ToBeVisibleAsync(new() { Timeout = Phase });
            await extra.Locator("input[name=displayName]").FillAsync("회사의 민지");
            await extra.Locator("button[type=submit]").ClickAsync();
            await Assertions.Expect(minji.Locator(".profile-editor").Nth(1).Locator("h3")).ToHaveTextAsync("회사의 민지", new() { Timeout = Phase });
            await minji.Locator(".profile-editor").Nth(1).GetByLabel("Sora").CheckAsync();

            var sorasChat = sora.Locator(".chat-item", new() { HasText = "우리 모임" });
            await sorasChat.ClickAsync(new() { Timeout = Phase });
            await Assertions.Expect(sora.Locator("#messages")).ToContainTextAsync("회사의 민지", new() { Timeout = Phase });
            // The address names the open chat (a hash route): a reload opens it again.
            Assert.Contains("#/chats/", jun.Url, StringComparison.Ordinal);
            // A message an earlier version of the app left unsent in localStorage is sent after the reload, once.
            await jun.EvaluateAsync("""
                localStorage.setItem('haetae.outbox', JSON.stringify([
                  { id: 'old0outbox0entry', chatId: location.hash.split('/')[2], text: '예전에 못 보낸 메시지' }]))
                """);
            await jun.ReloadAsync();
            await Assertions.Expect(jun.Locator("#chat-title-h")).ToHaveTextAsync("우리 모임", new() { Timeout = Phase });
            await Assertions.Expect(jun.Locator("#messages li:not(.pending) .text", new() { HasText = "예전에 못 보낸 메시지" })).ToHaveCountAsync(1, new() { Timeout = Phase });
            Assert.Null(await jun.EvaluateAsync<string?>("localStorage.getItem('haetae.outbox')"));
            await jun.Locator(".chat-item", new() { HasText = "우리 모임" }).ClickAsync(new() { Timeout = Phase });
            await Assertions.Expect(jun.Locator("#messages")).ToContainTextAsync("민지", new() { Timeout = Phase });
            await Assertions.Expect(jun.Locator("#messages")).Not.ToContainTextAsync("회사의 민지");
        }
        catch
        {
            for (var i = 0; i < pages.Count; i++)
            {
                await Screenshots.TakeAsync(pages[i], $"failed-chat-{i}");
            }

            throw;
        }
    }

    private static async Task SendAsync(IPage page, string text)
    {
        await page.Locator("#draft").FillAsync(text);
        await page.Locator("#send").ClickAsync();
        await Assertions.Expect(page.Locator("#messages li:not(.pending)")).ToContainTextAsync([text], new() { Timeout = Phase });
    }
}
