using Haetae.Contracts;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Drill.Tests;

/// <summary>Hidden profiles through a real fire and rebuild: never another profile, never a stale one.</summary>
public sealed class ProfileFireTests
{
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_site_burned_and_rebuilt_between_an_assignment_and_the_view_shows_the_current_profile()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct);
        await using var connection = await cluster.ConnectAsync();
        var socialLeader = (await new NatsJSContext(connection).GetStreamAsync($"KV_{Assets.SocialBucket}", cancellationToken: ct)).Info.Cluster!.Leader!;
        var burned = cluster.Spec.Sites.ToList().FindIndex(s => s.Name == socialLeader);
        using var people = await Scenario.On(cluster).Person("Owner", (burned + 1) % 3).Person("Friend", burned).Friends("Owner", "Friend").BuildAsync(ct);
        var ((owner, ownerUser), (friend, friendUser)) = (people["Owner"], people["Friend"]);
        var first = await owner.Profiles.CreateAsync(new ProfileRequest("First hidden", null, null), cancellationToken: ct);
        var second = await owner.Profiles.CreateAsync(new ProfileRequest("Second hidden", null, null), cancellationToken: ct);
        await owner.Profiles.AssignAsync(first.Id, friendUser.Id, ct);

        // The site leading the social bucket burns right after the assignment; the friend's client starts there.
        await cluster.Platform.FireAsync(socialLeader, ct);
        var views = new List<string>();
        await Eventually.WaitForAsync("the friend sees the assigned profile after the fire", PhaseTimeout, async t =>
        {
            var seen = (await friend.Profiles.GetUserAsync(ownerUser.Id, t)).DisplayName;
            views.Add(seen);
            return seen;
        }, seen => seen == "First hidden", ct);
        Assert.All(views, v => Assert.Contains(v, new[] { "First hidden", "Owner" }));

        // Moved while the site is down; then the site is rebuilt empty, and the friend asks there first.
        await owner.Profiles.AssignAsync(second.Id, friendUser.Id, ct);
        await cluster.Platform.RebuildAsync(socialLeader, ct);
        using var atRebuilt = ChatTestUsers.ClientAt(cluster, burned);
        atRebuilt.AccessToken = friend.AccessToken;
        Assert.Equal("Second hidden", (await atRebuilt.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);
        Assert.Equal(0, atRebuilt.Failovers);
        Assert.Equal("Second hidden", Assert.Single((await atRebuilt.Chat.GetAsync((await atRebuilt.Chat.CreateAsync([ownerUser.Id], cancellationToken: ct)).Id, ct)).Members, m => m.Id == ownerUser.Id).DisplayName);

        await owner.Profiles.UnassignAsync(second.Id, friendUser.Id, ct);
        Assert.Equal("Owner", (await atRebuilt.Profiles.GetUserAsync(ownerUser.Id, ct)).DisplayName);
    }
}
