using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>Push over WebSocket across sites, and resume by sequence after a dropped connection.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class RealtimeTests(SharedClusterFixture fixture)
{
    private static readonly TimeSpan Phase = DeviceFrames.Phase;

    private TestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Messages_and_receipts_reach_a_device_connected_to_another_site_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var chat = people.Chats[0];
        await using var bobsPhone = new HaetaeRealtime(bob);
        await bobsPhone.Live.WaitAsync(Phase, ct);

        for (var i = 1; i <= 10; i++)
        {
            await alice.Chat.SendTextAsync(chat.Id, $"live {i}", cancellationToken: ct);
        }

        var received = await DeviceFrames.NextMessagesAsync(bobsPhone, 10, "ten live messages at Bob's device", ct);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"live {i}"), received.Select(m => m.Text));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), received.Select(m => m.Sequence));

        await alice.Chat.MarkReadAsync(chat.Id, 10, ct);
        var receipt = await DeviceFrames.NextAsync(bobsPhone, f => f is ReceiptFrame { Receipt.Read: 10 }, "Alice's read receipt at Bob's device", ct);
        Assert.Equal(chat.Id, ((ReceiptFrame)receipt).Receipt.ChatId);
    }

    [Fact]
    public async Task Messages_sent_over_the_realtime_connection_many_at_once_are_stored_once_in_order_and_answered_with_their_sequences()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Person("Carol", 2).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];
        var (bob, _) = people["Bob"];
        var (carol, _) = people["Carol"];
        var chat = people.Chats[0];
        await using var alicesPhone = new HaetaeRealtime(alice);
        await using var bobsPhone = new HaetaeRealtime(bob);
        await using var carolsPhone = new HaetaeRealtime(carol);
        await Task.WhenAll(alicesPhone.Live.WaitAsync(Phase, ct), bobsPhone.Live.WaitAsync(Phase, ct), carolsPhone.Live.WaitAsync(Phase, ct));

        // Twenty in flight at once, written in order: stored in that order, each answered with its sequence.
        var sends = Enumerable.Range(1, 20).Select(i => alicesPhone.SendAsync(chat.Id, $"socket {i}", requestId: $"socket-{i}-{chat.Id}", cancellationToken: ct)).ToList();
        var answered = await Task.WhenAll(sends);
        var received = await DeviceFrames.NextMessagesAsync(bobsPhone, 20, "twenty messages sent over a socket at Bob's device", ct);
        // The same request id again, over HTTP at another site: the message stored the first time.
        var again = await ChatTestUsers.SameCallerAt(Cluster, alice, 2).Chat.SendTextAsync(chat.Id, "socket 7", $"socket-7-{chat.Id}", ct);
        var refused = await Assert.ThrowsAsync<HaetaeApiException>(() => carolsPhone.SendAsync(chat.Id, "not my chat", cancellationToken: ct));
        var empty = await Assert.ThrowsAsync<HaetaeApiException>(() => alicesPhone.SendAsync(chat.Id, " ", cancellationToken: ct));
        // A long message (16 KiB of text, a frame several times an idle socket's read buffer) and one too long.
        var longest = await alicesPhone.SendAsync(chat.Id, new string('가', 16 * 1024 / 3), cancellationToken: ct);
        var tooLong = await Assert.ThrowsAsync<HaetaeApiException>(() => alicesPhone.SendAsync(chat.Id, new string('가', (16 * 1024 / 3) + 1), cancellationToken: ct));

        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), answered.Select(m => m.Sequence));
        Assert.All(answered, m => Assert.Equal(aliceUser.Id, m.SenderId));
        Assert.Equal(answered.Select(m => (m.Sequence, m.Text)), received.Select(m => (m.Sequence, m.Text)));
        Assert.Equal((7L, "socket 7"), (again.Sequence, again.Text));
        Assert.Equal((21L, 16 * 1024 / 3), (longest.Sequence, longest.Text!.Length));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, tooLong.Status);
        Assert.Equal(21, (await bob.Chat.GetMessagesAsync(chat.Id, cancellationToken: ct)).LastSequence);
        Assert.True(refused.Status is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Forbidden, $"{refused.Status}");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, empty.Status);
    }

    [Fact]
    public async Task A_device_that_reconnects_to_another_site_gets_everything_after_its_last_sequence_once()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var chat = people.Chats[0];
        IReadOnlyDictionary<string, long> seen;
        await using (var first = new HaetaeRealtime(bob))
        {
            await first.Live.WaitAsync(Phase, ct);
            for (var i = 1; i <= 3; i++)
            {
                await alice.Chat.SendTextAsync(chat.Id, $"m{i}", cancellationToken: ct);
            }

            await DeviceFrames.NextMessagesAsync(first, 3, "the first three messages", ct);
            seen = first.LastSeen;
        }

        for (var i = 4; i <= 8; i++)
        {
            await alice.Chat.SendTextAsync(chat.Id, $"m{i}", cancellationToken: ct);
        }

        using var bobElsewhere = ChatTestUsers.ClientAt(Cluster, 2);
        bobElsewhere.AccessToken = bob.AccessToken;
        await using var resumed = new HaetaeRealtime(bobElsewhere, seen);
        var missed = await DeviceFrames.NextMessagesAsync(resumed, 5, "the five messages sent while away", ct);
        await resumed.Live.WaitAsync(Phase, ct);
        await alice.Chat.SendTextAsync(chat.Id, "m9", cancellationToken: ct);
        var live = await DeviceFrames.NextMessagesAsync(resumed, 1, "the next live message", ct);

        Assert.Equal(3, seen[chat.Id]);
        Assert.Equal(["m4", "m5", "m6", "m7", "m8"], missed.Select(m => m.Text));
        Assert.Equal("m9", live.Single().Text);
        Assert.Equal(9, resumed.LastSeen[chat.Id]);
    }

    [Fact]
    public async Task A_connected_device_hears_of_a_group_it_is_invited_to()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Carol", 2).Person("Dave", 1).BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (carol, carolUser) = people["Carol"];
        var (dave, daveUser) = people["Dave"];
        await using var carolsPhone = new HaetaeRealtime(carol);
        await carolsPhone.Live.WaitAsync(Phase, ct);

        var group = await alice.Chat.CreateAsync([carolUser.Id, daveUser.Id], "picnic", cancellationToken: ct);
        await alice.Chat.SendTextAsync(group.Id, "welcome", cancellationToken: ct);

        var frames = await DeviceFrames.NextMessagesAsync(carolsPhone, 2, "the invitation and the first message", ct);
        Assert.Equal([MessageKind.Joined, MessageKind.Text], frames.Select(m => m.Kind));
        Assert.Equal(group.Id, frames[0].ChatId);
        Assert.Contains(carolUser.Id, frames[0].UserIds!);
    }

    [Fact]
    public async Task A_device_away_when_it_was_invited_resumes_the_group_from_its_beginning()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Carol", 2).BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (carol, carolUser) = people["Carol"];
        IReadOnlyDictionary<string, long> seen;
        await using (var first = new HaetaeRealtime(carol))
        {
            await first.Live.WaitAsync(Phase, ct);
            seen = first.LastSeen;
        }

        var group = await alice.Chat.CreateAsync([carolUser.Id], "while you were out", cancellationToken: ct);
        await alice.Chat.SendTextAsync(group.Id, "welcome", cancellationToken: ct);

        await using var resumed = new HaetaeRealtime(carol, seen);
        var frames = await DeviceFrames.NextMessagesAsync(resumed, 2, "the invitation and the first message, after the resume", ct);

        Assert.Empty(seen);
        Assert.Equal([(group.Id, 1L, MessageKind.Joined), (group.Id, 2L, MessageKind.Text)], frames.Select(m => (m.ChatId, m.Sequence, m.Kind)));
    }

    [Fact]
    public async Task A_new_device_starts_every_chat_from_now()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var chat = people.Chats[0];
        await alice.Chat.SendTextAsync(chat.Id, "before the phone", cancellationToken: ct);

        await using var phone = new HaetaeRealtime(bob);
        await phone.Live.WaitAsync(Phase, ct);
        await alice.Chat.SendTextAsync(chat.Id, "after", cancellationToken: ct);

        var next = await DeviceFrames.NextMessagesAsync(phone, 1, "the first message after the new device was live", ct);
        Assert.Equal((2L, "after"), (next[0].Sequence, next[0].Text));
    }

    [Fact]
    public async Task A_new_one_to_one_chat_reaches_the_other_persons_connected_device()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        await using var bobsPhone = new HaetaeRealtime(bob);
        await bobsPhone.Live.WaitAsync(Phase, ct);

        var chat = await alice.Chat.CreateAsync([bobUser.Id], cancellationToken: ct);
        // Before any message: the phone is told of the chat itself.
        var told = (ChatFrame)await DeviceFrames.NextAsync(bobsPhone, f => f is ChatFrame, "the new chat, before its first message", ct);
        await alice.Chat.SendTextAsync(chat.Id, "hi, it's me", cancellationToken: ct);

        var first = await DeviceFrames.NextMessagesAsync(bobsPhone, 1, "the first message of a chat started while Bob was online", ct);
        Assert.Equal(chat.Id, told.ChatId);
        Assert.Equal((chat.Id, 1L, "hi, it's me"), (first[0].ChatId, first[0].Sequence, first[0].Text));
    }

    [Fact]
    public async Task Signing_out_closes_the_sessions_open_sockets()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Bob", 1).BuildAsync(ct);
        var (bob, _) = people["Bob"];
        using var phoneClient = ChatTestUsers.ClientAt(Cluster, 2);
        phoneClient.AccessToken = bob.AccessToken;
        await using var bobsPhone = new HaetaeRealtime(phoneClient);
        await bobsPhone.Live.WaitAsync(Phase, ct);
        Assert.Equal(0, bobsPhone.Reconnects);

        await bob.SignOutAsync(ct);

        await Eventually.WaitForAsync("the signed-out session's socket is closed", Phase, _ => Task.FromResult(bobsPhone.Reconnects), r => r > 0, ct);
        Assert.False(bobsPhone.Live.IsCompleted, "a signed-out device must not get back in");
    }
}
