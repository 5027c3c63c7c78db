namespace Haetae.Chat.Tests;

/// <summary>Who sees which profile, as the friend list records it.</summary>
public sealed class FriendListTests
{
    private static readonly FriendList TwoFriends = FriendList.Empty.Add("u-a").Add("u-b");

    [Fact]
    public void Only_a_friend_with_an_assignment_has_an_extra_profile()
    {
        var list = TwoFriends.Assign("u-a", "f1");
        Assert.Equal("f1", list.ProfileOf("u-a"));
        Assert.Null(list.ProfileOf("u-b"));
        Assert.Null(list.ProfileOf("u-stranger"));

        // An assignment left over for someone who is no longer a friend is not honoured.
        var stale = list with { Friends = ["u-b"] };
        Assert.Null(stale.ProfileOf("u-a"));
    }

    [Fact]
    public void A_friend_is_on_at_most_one_profile_and_moves_when_assigned_again()
    {
        var list = TwoFriends.Assign("u-a", "f1").Assign("u-a", "f2");
        Assert.Equal("f2", list.ProfileOf("u-a"));
        Assert.Single(list.Assigned!);
        Assert.Null(list.Unassign("u-a").ProfileOf("u-a"));
    }

    [Fact]
    public void Removing_or_blocking_a_friend_drops_their_assignment_so_a_new_friendship_starts_at_the_default()
    {
        var list = TwoFriends.Assign("u-a", "f1").Assign("u-b", "f1");
        Assert.Null(list.Remove("u-a").Add("u-a").ProfileOf("u-a"));
        Assert.Null(list.Block("u-b").Unblock("u-b").Add("u-b").ProfileOf("u-b"));
    }

    [Fact]
    public void Deleting_a_profile_returns_its_friends_to_the_default_and_leaves_the_others()
    {
        var list = TwoFriends.Assign("u-a", "f1").Assign("u-b", "f2").UnassignAll("f1");
        Assert.Null(list.ProfileOf("u-a"));
        Assert.Equal("f2", list.ProfileOf("u-b"));
    }
}
