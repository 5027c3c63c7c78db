using System.Net;
using System.Text;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Haetae.Integration.Tests;

/// <summary>Multi-profile on a real three-site cluster: each friend sees exactly the profile assigned to them.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ProfileTests(SharedClusterFixture fixture)
{
    private static readonly TimeSpan Phase = DeviceFrames.Phase;

    private TestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Each_viewer_sees_their_assigned_profile_everywhere_and_everyone_else_the_default()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Minji", 0).Person("Colleague", 1).Person("Sister", 2).Person("Stranger", 1).BuildAsync(ct);
        var (owner, ownerUser) = people["Minji"];
        var (work, workUser) = people["Colleague"];
        var (family, familyUser) = people["Sister"];
        var (stranger, strangerUser) = people["Stranger"];

        await owner.Friends.AddAsync(new AddFriendRequest(workUser.Id, null, null), ct);
        await owner.Friends.AddAsync(new AddFriendRequest(familyUser.Id, null, null), ct);
        await work.Friends.AddAsync(new AddFriendRequest(ownerUser.Id, null, null), ct);
        await stranger.Friends.AddAsync(new AddFriendRequest(ownerUser.Id, null, null), ct);

        var photo = await owner.Photos.UploadAsync([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], "image/jpeg", cancellationToken: ct);
        var office = await owner.Profiles.CreateAsync(new ProfileRequest("김민지 (Office)", "회의 중", photo.Id), cancellationToken: ct);
        var home = await owner.Profiles.CreateAsync(new ProfileRequest("Minji at home", "🏠", null), cancellationToken: ct);
        await owner.Profiles.AssignAsync(office.Id, workUser.Id, ct);
        await owner.Profiles.AssignAsync(home.Id, familyUser.Id, ct);

        // The profile view, at each viewer's own site.
        Assert.Equal(new UserView(ownerUser.Id, "김민지 (Office)", "회의 중", photo.Id), await work.Profiles.GetUserAsync(ownerUser.Id, ct));
        Assert.Equal(new UserView(ownerUser.Id, "Minji at home", "🏠", null), await family.Profiles.GetUserAsync(ownerUser.Id, ct));
        Assert.Equal(new UserView(ownerUser.Id, "Minji"), await stranger.Profiles.GetUserAsync(ownerUser.Id, ct));
        Assert.Equal(new UserView(ownerUser.Id, "Minji"), await owner.Profiles.GetUserAsync(ownerUser.Id, ct));

        // The friend list of someone who added the owner.
        Assert.Equal("김민지 (Office)", Assert.Single((await work.Friends.ListAsync(ct)).Friends).DisplayName);
        Assert.Equal("Minji", Assert.Single((await stranger.Friends.ListAsync(ct)).Friends).DisplayName);

        // A group chat's member list and the senders of its history.
        var chat = await owner.Chat.CreateAsync([workUser.Id, familyUser.Id, strangerUser.Id], "all of us", cancellationToken: ct);
        await owner.Chat.SendTextAsync(chat.Id, "안녕하세요", cancellationToken: ct);
        foreach (var (viewer, expected) in new[] { (work, "김민지 (Office)"), (family, "Minji at home"), (stranger, "Minji") })
        {
            Assert.Equal(expected, (await viewer.Chat.GetAsync(chat.Id, ct)).Members.Single(m => m.Id == ownerUser.Id).DisplayName);
            Assert.Equal(expected, (await viewer.Chat.GetMessagesAsync(chat.Id, cancellationToken: ct)).Senders!.Single(m => m.Id == ownerUser.Id).DisplayName);
        }

        // The office photo is visible to whoever is shown it, and to nobody else.
        Assert.Equal(7, (await work.Photos.GetAsync(photo.Id, ct)).Length);
        var refused = await Assert.ThrowsAsync<HaetaeApiException>(() => family.Photos.GetAsync(photo.Id, ct));
        Assert.Equal(HttpStatusCode.NotFound, refused.Status);

        var mine = await owner.Profiles.MineAsync(ct);
        Assert.Equal([familyUser.Id], mine.Extras.Single(p => p.Id == home.Id).FriendIds);
        Assert.Equal([workUser.Id], mine.Extras.Single(p => p.Id == office.Id).FriendIds);
        Assert.Empty(mine.Default.FriendIds);
    }

    [Fact]
    public async Task Moving_unassigning_deleting_and_unfriending_show_the_right_profile_next()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Owner", 0).Person("Friend", 2).Friends("Owner", "Friend").BuildAsync(ct);
        var ((owner, ownerUser), (friend, friendUser)) = (people["Owner"], people["Friend"]);
        var first = await owner.Profiles.CreateAsync(new ProfileRequest("First", null, null), cancellationToken: ct);
        var second = await owner.Profiles.CreateAsync(new ProfileRequest("Second", null, null), cancellationToken: ct);
        async Task<string> SeenAsync() => (await friend.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName;

        await owner.Profiles.AssignAsync(first.Id, friendUser.Id, ct);
        Assert.Equal("First", await SeenAsync());
        await owner.Profiles.AssignAsync(second.Id, friendUser.Id, ct);
        Assert.Equal("Second", await SeenAsync());
        var profiles = await owner.Profiles.MineAsync(ct);
        Assert.Empty(profiles.Extras.Single(p => p.Id == first.Id).FriendIds);

        await owner.Profiles.UpdateAsync(second.Id, new ProfileRequest("Second, renamed", "new status", null), ct);
        Assert.Equal("Second, renamed", await SeenAsync());
        await owner.Profiles.UnassignAsync(second.Id, friendUser.Id, ct);
        Assert.Equal("Owner", await SeenAsync());
        await owner.Profiles.AssignAsync(first.Id, friendUser.Id, ct);
        await owner.Profiles.AssignAsync("default", friendUser.Id, ct);
        Assert.Equal("Owner", await SeenAsync());

        await owner.Profiles.AssignAsync(first.Id, friendUser.Id, ct);
        await owner.Profiles.DeleteAsync(first.Id, ct);
        Assert.Equal("Owner", await SeenAsync());
        Assert.DoesNotContain((await owner.Profiles.MineAsync(ct)).Extras, p => p.Id == first.Id);

        // A friend removed loses the assignment for good: added again, they see the default profile.
        await owner.Profiles.AssignAsync(second.Id, friendUser.Id, ct);
        Assert.Equal("Second, renamed", await SeenAsync());
        await owner.Friends.RemoveAsync(friendUser.Id, ct);
        Assert.Equal("Owner", await SeenAsync());
        await owner.Friends.AddAsync(new AddFriendRequest(friendUser.Id, null, null), ct);
        Assert.Equal("Owner", await SeenAsync());

        await owner.Profiles.UpdateDefaultAsync(new ProfileRequest("Owner, renamed", "hello", null), ct);
        Assert.Equal(new UserView(ownerUser.Id, "Owner, renamed", "hello"), await friend.Profiles.GetUserAsync(ownerUser.Id, ct));
    }

    [Fact]
    public async Task A_change_is_pushed_to_every_connected_device_of_the_viewer_at_every_site()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Owner", 0).Person("Friend", 1).Friends("Owner", "Friend").BuildAsync(ct);
        var ((owner, ownerUser), (friend, friendUser)) = (people["Owner"], people["Friend"]);
        var secret = await owner.Profiles.CreateAsync(new ProfileRequest("Close friends only", null, null), cancellationToken: ct);

        using var tabletClient = ChatTestUsers.ClientAt(Cluster, 2);
        tabletClient.AccessToken = friend.AccessToken;
        await using var phone = new HaetaeRealtime(friend);
        await using var tablet = new HaetaeRealtime(tabletClient);
        await phone.Live.WaitAsync(Phase, ct);
        await tablet.Live.WaitAsync(Phase, ct);

        await owner.Profiles.AssignAsync(secret.Id, friendUser.Id, ct);
        foreach (var (device, name) in new[] { (phone, "phone at site 1"), (tablet, "tablet at site 2") })
        {
            var pushed = await DeviceFrames.NextAsync(device, f => f is ProfileFrame { Profile.DisplayName: "Close friends only" }, $"assignment pushed to the {name}", ct);
            Assert.Equal(ownerUser.Id, ((ProfileFrame)pushed).Profile.Id);
        }

        await owner.Profiles.UnassignAsync(secret.Id, friendUser.Id, ct);
        foreach (var (device, name) in new[] { (phone, "phone at site 1"), (tablet, "tablet at site 2") })
        {
            await DeviceFrames.NextAsync(device, f => f is ProfileFrame { Profile.DisplayName: "Owner" }, $"unassignment pushed to the {name}", ct);
        }

        // A viewer who comes back anywhere reads the current profile.
        using var elsewhere = ChatTestUsers.ClientAt(Cluster, 0);
        elsewhere.AccessToken = friend.AccessToken;
        Assert.Equal("Owner", (await elsewhere.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);
    }

    [Fact]
    public async Task An_assignment_that_cannot_be_read_shows_the_default_profile()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Owner", 0).Person("Friend", 1).Friends("Owner", "Friend").BuildAsync(ct);
        var ((owner, ownerUser), (friend, friendUser)) = (people["Owner"], people["Friend"]);
        var hidden = await owner.Profiles.CreateAsync(new ProfileRequest("Hidden", null, null), cancellationToken: ct);
        await owner.Profiles.AssignAsync(hidden.Id, friendUser.Id, ct);
        Assert.Equal("Hidden", (await friend.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);

        await using var connection = await Cluster.ConnectAsync();
        var social = await new NatsKVContext(new NatsJSContext(connection)).GetStoreAsync(Assets.SocialBucket, ct);

        // The profiles are unreadable: the default, not the hidden one.
        await social.PutAsync($"profiles.{ownerUser.Id}", Encoding.UTF8.GetBytes("{not json"), cancellationToken: ct);
        Assert.Equal("Owner", (await friend.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);

        // The profiles are gone while the assignment still names one: the default.
        await social.DeleteAsync($"profiles.{ownerUser.Id}", cancellationToken: ct);
        Assert.Equal("Owner", (await friend.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);
        Assert.Equal("Owner", (await friend.Chat.GetAsync((await friend.Chat.CreateAsync([ownerUser.Id], cancellationToken: ct)).Id, ct)).Members.Single(m => m.Id == ownerUser.Id).DisplayName);

        // The assignment is gone: the default.
        await owner.Profiles.CreateAsync(new ProfileRequest("Hidden again", null, null), requestId: "again", cancellationToken: ct);
        await social.PurgeAsync($"friends.{ownerUser.Id}", cancellationToken: ct);
        Assert.Equal("Owner", (await friend.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);
    }

    [Fact]
    public async Task Bad_profile_requests_get_a_4xx_and_change_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Owner", 0).Person("Friend", 1).Person("Other", 2).Friends("Owner", "Friend").BuildAsync(ct);
        var ((owner, ownerUser), (friend, friendUser)) = (people["Owner"], people["Friend"]);
        var other = people["Other"].Client;
        var p1 = await owner.Profiles.CreateAsync(new ProfileRequest("One", null, null), cancellationToken: ct);
        var theirPhoto = await other.Photos.UploadAsync([1, 2, 3], "image/png", cancellationToken: ct);
        var before = await owner.Profiles.MineAsync(ct);

        async Task RefusedAsync(HttpStatusCode status, Func<Task> call)
        {
            var e = await Assert.ThrowsAsync<HaetaeApiException>(call);
            Assert.Equal(status, e.Status);
        }

        await RefusedAsync(HttpStatusCode.BadRequest, () => owner.Profiles.CreateAsync(new ProfileRequest("", null, null), cancellationToken: ct));
        await RefusedAsync(HttpStatusCode.BadRequest, () => owner.Profiles.CreateAsync(new ProfileRequest(new string('x', 65), null, null), cancellationToken: ct));
        await RefusedAsync(HttpStatusCode.BadRequest, () => owner.Profiles.CreateAsync(new ProfileRequest("Ok", new string('s', 141), null), cancellationToken: ct));
        await RefusedAsync(HttpStatusCode.BadRequest, () => owner.Profiles.CreateAsync(new ProfileRequest("Ok", null, theirPhoto.Id), cancellationToken: ct));
        await RefusedAsync(HttpStatusCode.BadRequest, () => owner.Profiles.UpdateDefaultAsync(new ProfileRequest("Ok", "bad\u0007status", null), ct));
        await RefusedAsync(HttpStatusCode.NotFound, () => owner.Profiles.UpdateAsync("fnosuchprofile00", new ProfileRequest("Ok", null, null), ct));
        await RefusedAsync(HttpStatusCode.NotFound, () => owner.Profiles.AssignAsync("fnosuchprofile00", friendUser.Id, ct));
        await RefusedAsync(HttpStatusCode.NotFound, () => owner.Profiles.AssignAsync(p1.Id, ownerUser.Id, ct));
        await RefusedAsync(HttpStatusCode.NotFound, () => owner.Profiles.UnassignAsync(p1.Id, friendUser.Id, ct));
        await RefusedAsync(HttpStatusCode.NotFound, () => owner.Profiles.DeleteAsync("fnosuchprofile00", ct));
        await RefusedAsync(HttpStatusCode.NotFound, () => friend.Profiles.GetUserAsync("u-no-such-user", ct));

        // Nobody can touch another person's profiles: ids are looked up among the caller's own.
        await RefusedAsync(HttpStatusCode.NotFound, () => other.Profiles.UpdateAsync(p1.Id, new ProfileRequest("Hijacked", null, null), ct));
        await RefusedAsync(HttpStatusCode.NotFound, () => other.Profiles.DeleteAsync(p1.Id, ct));

        await owner.Profiles.CreateAsync(new ProfileRequest("Two", null, null), cancellationToken: ct);
        await owner.Profiles.CreateAsync(new ProfileRequest("Three", null, null), requestId: "third", cancellationToken: ct);
        await owner.Profiles.CreateAsync(new ProfileRequest("Three", null, null), requestId: "third", cancellationToken: ct);
        await RefusedAsync(HttpStatusCode.Conflict, () => owner.Profiles.CreateAsync(new ProfileRequest("Four", null, null), cancellationToken: ct));

        var after = await owner.Profiles.MineAsync(ct);
        Assert.Equal((before.Default.DisplayName, before.Default.StatusMessage, before.Default.PhotoId), (after.Default.DisplayName, after.Default.StatusMessage, after.Default.PhotoId));
        Assert.Equal(before.Default.FriendIds, after.Default.FriendIds);
        Assert.Equal(["One", "Two", "Three"], after.Extras.Select(p => p.DisplayName));
        Assert.Equal("Owner", (await friend.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);
    }
}
