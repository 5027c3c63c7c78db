using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Drill.Tests;

/// <summary>A site burned for real in the middle of a conversation.</summary>
public sealed class ChatFireTests
{
    [Fact]
    public async Task Burning_the_site_that_leads_a_chat_loses_no_acknowledged_message_and_stores_none_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct);
        using var people = await Scenario.On(cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, bob, chat) = (people["Alice"].Client, people["Bob"].Client, people.Chats[0]);

        // Burn the site that leads the chat's shard, with Alice's client starting there.
        await using var connection = await cluster.ConnectAsync();
        var leader = (await new NatsJSContext(connection).GetStreamAsync(Assets.ChatStreamOf(chat.Id), cancellationToken: ct)).Info.Cluster!.Leader!;
        var leaderIndex = cluster.Spec.Sites.ToList().FindIndex(s => s.Name == leader);
        using var aliceThere = ChatTestUsers.ClientAt(cluster, leaderIndex);
        aliceThere.AccessToken = alice.AccessToken;
        using var bobElsewhere = ChatTestUsers.ClientAt(cluster, (leaderIndex + 1) % 3);
        bobElsewhere.AccessToken = bob.AccessToken;

        // Bob's phone is connected to the site that will burn: it must resume elsewhere, missing nothing.
        using var bobsPhoneClient = ChatTestUsers.ClientAt(cluster, leaderIndex);
        bobsPhoneClient.AccessToken = bob.AccessToken;
        await using var bobsPhone = new HaetaeRealtime(bobsPhoneClient);
        await bobsPhone.Live.WaitAsync(TimeSpan.FromSeconds(30), ct);

        const int perPerson = 60;
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<MessageView>();
        var firstAcks = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task TalkAsync(HaetaeClient client, string who)
        {
            for (var i = 0; i < perPerson; i++)
            {
                acknowledged.Add(await client.Chat.SendTextAsync(chat.Id, $"{who}-{i}", requestId: $"{who}-{i}", cancellationToken: ct));
                if (acknowledged.Count >= 20)
                {
                    firstAcks.TrySetResult();
                }
            }
        }

        var talking = Task.WhenAll(TalkAsync(aliceThere, "alice"), TalkAsync(bobElsewhere, "bob"));
        await firstAcks.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        await cluster.Platform.FireAsync(leader, ct);
        await talking.WaitAsync(TimeSpan.FromMinutes(3), ct);

        var history = await bobElsewhere.Chat.GetMessagesAsync(chat.Id, after: 0, limit: 200, cancellationToken: ct);
        var onPhone = new List<MessageView>();
        using (var phase = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            phase.CancelAfter(TimeSpan.FromSeconds(60));
            while (onPhone.Count < 2 * perPerson)
            {
                try
                {
                    var frame = await bobsPhone.Frames.ReadAsync(phase.Token);
                    if (frame is MessageFrame { Message: var m })
                    {
                        onPhone.Add(m);
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"Phase 'Bob's phone resumes after the fire' got {onPhone.Count} of {2 * perPerson} messages in 60 s.");
                }
            }
        }

        Assert.Equal(Enumerable.Range(1, 2 * perPerson).Select(i => (long)i), onPhone.Select(m => m.Sequence));
        Assert.True(bobsPhone.Reconnects > 0, "Bob's phone should have reconnected to another site");
        Assert.Equal(2 * perPerson, acknowledged.Count);
        Assert.Equal(Enumerable.Range(1, 2 * perPerson).Select(i => (long)i), history.Messages.Select(m => m.Sequence));
        Assert.Equal(acknowledged.Select(m => m.RequestId).Order(), history.Messages.Select(m => m.RequestId).Order());
        Assert.All(acknowledged, m => Assert.Equal(m.Text, history.Messages[(int)m.Sequence - 1].Text));
        Assert.True(aliceThere.Failovers > 0, "Alice's client should have moved off the burned site");
    }
}
