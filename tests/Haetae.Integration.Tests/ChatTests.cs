using System.Net;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>The messenger on a real three-site cluster: people on different sites, one chat history.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ChatTests(SharedClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Two_users_on_different_sites_chat_and_see_the_same_order()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];
        var (bob, bobUser) = people["Bob"];

        var chat = people.Chats[0];
        var again = await bob.Chat.CreateAsync([aliceUser.Id], cancellationToken: ct);
        Assert.Equal(chat.Id, again.Id);
        Assert.Equal(ChatKind.Direct, chat.Kind);

        var sends = new List<Task<MessageView>>();
        for (var i = 0; i < 20; i++)
        {
            sends.Add(alice.Chat.SendTextAsync(chat.Id, $"a{i}", cancellationToken: ct));
            sends.Add(bob.Chat.SendTextAsync(chat.Id, $"b{i} 안녕", cancellationToken: ct));
        }

        var sent = await Task.WhenAll(sends);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), sent.Select(m => m.Sequence).Order());

        var seenByAlice = await alice.Chat.GetMessagesAsync(chat.Id, after: 0, limit: 100, cancellationToken: ct);
        var seenByBob = await bob.Chat.GetMessagesAsync(chat.Id, after: 0, limit: 100, cancellationToken: ct);
        Assert.Equal(40, seenByAlice.LastSequence);
        Assert.Equal(seenByAlice.Messages.Select(m => (m.Sequence, m.Text)), seenByBob.Messages.Select(m => (m.Sequence, m.Text)));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), seenByAlice.Messages.Select(m => m.Sequence));
        Assert.Equal(sent.OrderBy(m => m.Sequence).Select(m => m.Text), seenByBob.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_retried_send_is_stored_once_whichever_site_it_reaches()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var chat = people.Chats[0];

        var first = await alice.Chat.SendTextAsync(chat.Id, "once", requestId: "retry-1", cancellationToken: ct);
        using var elsewhere = ChatTestUsers.ClientAt(Cluster, 2);
        elsewhere.AccessToken = alice.AccessToken;
        var retry = await elsewhere.Chat.SendTextAsync(chat.Id, "once", requestId: "retry-1", cancellationToken: ct);
        var next = await alice.Chat.SendTextAsync(chat.Id, "next", cancellationToken: ct);

        Assert.Equal(first, retry);
        Assert.Equal(first.Sequence + 1, next.Sequence);
        var history = await bob.Chat.GetMessagesAsync(chat.Id, after: 0, cancellationToken: ct);
        Assert.Equal(["once", "next"], history.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Group_chats_track_membership_unread_counts_and_read_receipts()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Person("Carol", 2).BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (carol, carolUser) = people["Carol"];

        var group = await alice.Chat.CreateAsync([bobUser.Id], "trip", cancellationToken: ct);
        Assert.Equal(ChatKind.Group, group.Kind);
        await alice.Chat.InviteAsync(group.Id, [carolUser.Id], cancellationToken: ct);
        var m1 = await alice.Chat.SendTextAsync(group.Id, "hello", cancellationToken: ct);
        var m2 = await alice.Chat.SendTextAsync(group.Id, "anyone?", cancellationToken: ct);

        Assert.Equal(4, m2.Sequence); // joined, joined, hello, anyone?
        var bobsChat = (await bob.Chat.ListAsync(ct)).Single(x => x.Id == group.Id);
        Assert.Equal(4, bobsChat.Unread);
        Assert.Equal("anyone?", bobsChat.LastMessage!.Text);
        Assert.Equal(["Alice", "Bob", "Carol"], bobsChat.Members.Select(m => m.DisplayName).Order());

        var afterBobRead = await bob.Chat.MarkReadAsync(group.Id, m1.Sequence, ct);
        Assert.Equal(1, afterBobRead.Unread);
        var receipts = await alice.Chat.GetReceiptsAsync(group.Id, ct);
        Assert.Equal(m2.Sequence, receipts.Members.Single(x => x.UserId == aliceUser.Id).Read);
        Assert.Equal(m1.Sequence, receipts.Members.Single(x => x.UserId == bobUser.Id).Read);
        Assert.Equal(0, receipts.Members.Single(x => x.UserId == carolUser.Id).Read);
        // KakaoTalk's "1": members who have not read m2 yet.
        Assert.Equal(2, receipts.Members.Count(x => x.Read < m2.Sequence));

        await carol.Chat.LeaveAsync(group.Id, cancellationToken: ct);
        var gone = await Assert.ThrowsAsync<HaetaeApiException>(() => carol.Chat.GetMessagesAsync(group.Id, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        var last = await alice.Chat.GetMessagesAsync(group.Id, before: null, limit: 1, cancellationToken: ct);
        Assert.Equal(MessageKind.Left, last.Messages.Single().Kind);
        Assert.Equal([carolUser.Id], last.Messages.Single().UserIds);
    }

    [Fact]
    public async Task History_pages_forwards_and_backwards_by_sequence()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var chat = people.Chats[0];
        for (var i = 1; i <= 25; i++)
        {
            await alice.Chat.SendTextAsync(chat.Id, $"m{i}", cancellationToken: ct);
        }

        var newest = await bob.Chat.GetMessagesAsync(chat.Id, limit: 10, cancellationToken: ct);
        var older = await bob.Chat.GetMessagesAsync(chat.Id, before: newest.Messages[0].Sequence, limit: 10, cancellationToken: ct);
        var oldest = await bob.Chat.GetMessagesAsync(chat.Id, before: older.Messages[0].Sequence, limit: 10, cancellationToken: ct);
        var forward = await bob.Chat.GetMessagesAsync(chat.Id, after: 20, limit: 10, cancellationToken: ct);

        Assert.Equal(Enumerable.Range(16, 10).Select(i => $"m{i}"), newest.Messages.Select(m => m.Text));
        Assert.Equal(Enumerable.Range(6, 10).Select(i => $"m{i}"), older.Messages.Select(m => m.Text));
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"m{i}"), oldest.Messages.Select(m => m.Text));
        Assert.Equal(Enumerable.Range(21, 5).Select(i => $"m{i}"), forward.Messages.Select(m => m.Text));
        Assert.Equal(25, forward.LastSequence);
    }

    [Fact]
    public async Task Photos_are_stored_replicated_and_shown_only_to_chat_members()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Person("Mallory", 2).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (mallory, _) = people["Mallory"];
        var chat = people.Chats[0];
        var bytes = new byte[3 * 1024 * 1024 + 17];
        Random.Shared.NextBytes(bytes);

        var photo = await alice.Photos.UploadAsync(bytes, "image/jpeg", cancellationToken: ct);
        var message = await alice.Chat.SendPhotoAsync(chat.Id, photo.Id, cancellationToken: ct);

        Assert.Equal(MessageKind.Photo, message.Kind);
        Assert.Equal(bytes, await bob.Photos.GetAsync(photo.Id, ct));
        var denied = await Assert.ThrowsAsync<HaetaeApiException>(() => mallory.Photos.GetAsync(photo.Id, ct));
        Assert.Equal(HttpStatusCode.NotFound, denied.Status);
        var notTheirs = await Assert.ThrowsAsync<HaetaeApiException>(() => bob.Chat.SendPhotoAsync(chat.Id, photo.Id, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.NotFound, notTheirs.Status);
    }

    [Fact]
    public async Task Friends_can_be_added_by_phone_email_or_id_and_a_blocked_user_cannot_message()
    {
        var ct = TestContext.Current.CancellationToken;
        using var alice = ChatTestUsers.ClientAt(Cluster, 0);
        var phone = "+8210" + Random.Shared.Next(10_000_000, 99_999_999);
        var aliceUser = await alice.SignUpAsync(new SignUpRequest(phone, null, "Alice", "correct horse battery"), cancellationToken: ct);
        await alice.SignInAsync(phone, "correct horse battery", ct);
        using var people = await Scenario.On(Cluster).Person("Bob", 1).BuildAsync(ct);
        var (bob, bobUser) = people["Bob"];

        var byPhone = await bob.Friends.AddAsync(new AddFriendRequest(null, phone.Replace("+82", "+82 ", StringComparison.Ordinal), null), ct);
        Assert.Equal(aliceUser.Id, byPhone.Id);
        await alice.Friends.AddAsync(new AddFriendRequest(bobUser.Id, null, null), ct);
        Assert.Equal([bobUser.Id], (await alice.Friends.ListAsync(ct)).Friends.Select(f => f.Id));

        var chat = await bob.Chat.CreateAsync([aliceUser.Id], cancellationToken: ct);
        await alice.Friends.BlockAsync(bobUser.Id, ct);
        var blocked = await Assert.ThrowsAsync<HaetaeApiException>(() => bob.Chat.SendTextAsync(chat.Id, "hi", cancellationToken: ct));
        Assert.Equal(HttpStatusCode.Forbidden, blocked.Status);
        var friends = await alice.Friends.ListAsync(ct);
        Assert.Empty(friends.Friends);
        Assert.Equal([bobUser.Id], friends.Blocked.Select(f => f.Id));

        var group = await Assert.ThrowsAsync<HaetaeApiException>(() => bob.Chat.CreateAsync([aliceUser.Id, bobUser.Id], "sneaky", cancellationToken: ct));
        Assert.Equal(HttpStatusCode.Forbidden, group.Status);

        await alice.Friends.UnblockAsync(bobUser.Id, ct);
        Assert.Equal(1, (await bob.Chat.SendTextAsync(chat.Id, "hi again", cancellationToken: ct)).Sequence);
        await bob.Friends.RemoveAsync(aliceUser.Id, ct);
        Assert.Empty((await bob.Friends.ListAsync(ct)).Friends);
    }

    [Fact]
    public async Task A_token_works_at_every_site_until_signed_out()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];
        foreach (var site in Enumerable.Range(0, 3))
        {
            using var there = ChatTestUsers.ClientAt(Cluster, site);
            there.AccessToken = alice.AccessToken;
            Assert.Equal(aliceUser.Id, (await there.MeAsync(ct)).Id);
        }

        await alice.SignOutAsync(ct);

        // Each node learns of the sign-out through its watch on the sessions bucket, within milliseconds.
        foreach (var site in Enumerable.Range(0, 3))
        {
            using var there = ChatTestUsers.ClientAt(Cluster, site);
            there.AccessToken = alice.AccessToken;
            var status = await Eventually.WaitForAsync(
                $"the sign-out reaches site {site}",
                TimeSpan.FromSeconds(5),
                async token =>
                {
                    try
                    {
                        await there.MeAsync(token);
                        return HttpStatusCode.OK;
                    }
                    catch (HaetaeApiException e)
                    {
                        return e.Status;
                    }
                },
                s => s != HttpStatusCode.OK,
                ct);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }
    }
}
