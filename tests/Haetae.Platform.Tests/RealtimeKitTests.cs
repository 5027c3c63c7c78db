using System.Threading.Channels;
using Haetae.Platform.Realtime;

namespace Haetae.Platform.Tests;

/// <summary>The device hub's parts, without a socket or a cluster: who gets an event, what a device is sent, and when a slow one is let go.</summary>
public sealed class RealtimeKitTests
{
    [Fact]
    public void An_event_reaches_the_devices_that_follow_its_topic_and_the_devices_of_its_person_only()
    {
        var hub = new DeviceHub<string>(maxPerUser: 3);
        DeviceQueue<string> alicePhone = new(10), aliceLaptop = new(10), bobPhone = new(10);
        Assert.True(hub.TryConnect("alice", alicePhone));
        Assert.True(hub.TryConnect("alice", aliceLaptop));
        Assert.True(hub.TryConnect("bob", bobPhone));
        hub.Follow("chat-1", alicePhone);
        hub.Follow("chat-1", bobPhone);

        hub.Publish("chat-1", "m1");
        hub.PublishToUser("alice", "joined");
        hub.Publish("chat-2", "nobody follows this");

        Assert.Equal(["m1", "joined"], Drain(alicePhone));
        Assert.Equal(["joined"], Drain(aliceLaptop));
        Assert.Equal(["m1"], Drain(bobPhone));
    }

    [Fact]
    public void A_disconnected_device_follows_nothing_and_its_place_is_free_again()
    {
        var hub = new DeviceHub<string>(maxPerUser: 1);
        DeviceQueue<string> first = new(10), second = new(10);
        Assert.True(hub.TryConnect("alice", first));
        Assert.False(hub.TryConnect("alice", second));
        hub.Follow("chat-1", first);

        hub.Disconnect("alice", first);
        hub.Follow("chat-1", first);

        Assert.Empty(hub.FollowersOf("chat-1"));
        Assert.Empty(hub.DevicesOf("alice"));
        Assert.True(hub.TryConnect("alice", second));
        Assert.Equal([second], hub.DevicesOf("alice"));
    }

    [Fact]
    public void A_device_that_resumes_is_sent_the_next_sequence_and_catches_up_a_gap_and_drops_what_it_has()
    {
        var cursor = new ResumeCursor();
        cursor.Start("chat-1", newest: 10, resume: new Dictionary<string, long> { ["chat-1"] = 7 });
        cursor.Start("chat-2", newest: 4, resume: new Dictionary<string, long> { ["chat-2"] = 99 });
        cursor.Start("chat-3", newest: 5, resume: new Dictionary<string, long>());
        cursor.Start("chat-4", newest: 6, resume: null);

        Assert.Equal(7, cursor.LastSent("chat-1"));
        Assert.Equal(4, cursor.LastSent("chat-2"));
        Assert.Equal(0, cursor.LastSent("chat-3"));
        Assert.Equal(6, cursor.LastSent("chat-4"));
        Assert.Equal(Delivery.Send, cursor.Decide("chat-1", 8));
        Assert.Equal(Delivery.CatchUp, cursor.Decide("chat-1", 10));
        Assert.Equal(Delivery.Seen, cursor.Decide("chat-1", 7));
        Assert.Equal(Delivery.NotFollowed, cursor.Decide("chat-9", 1));

        cursor.Sent("chat-1", 10);
        cursor.Sent("chat-1", 9);
        Assert.Equal(10, cursor.LastSent("chat-1"));
        cursor.Stop("chat-1");
        Assert.Equal(Delivery.NotFollowed, cursor.Decide("chat-1", 11));
    }

    [Fact]
    public async Task A_device_that_falls_a_full_queue_behind_is_let_go_after_what_was_queued()
    {
        var queue = new DeviceQueue<int>(capacity: 2);
        Assert.True(queue.Offer(1));
        Assert.True(queue.Offer(2));
        Assert.False(queue.Offer(3));
        Assert.False(queue.Offer(4));

        var read = new List<int>();
        var error = await Assert.ThrowsAsync<ChannelClosedException>(async () =>
        {
            await foreach (var e in queue.ReadAllAsync(TestContext.Current.CancellationToken))
            {
                read.Add(e);
            }
        });
        Assert.Equal([1, 2], read);
        Assert.Contains("too far behind", error.Message);
    }

    private static List<string> Drain(DeviceQueue<string> queue)
    {
        queue.Close();
        return [.. queue.ReadAllAsync(CancellationToken.None).ToBlockingEnumerable()];
    }
}
