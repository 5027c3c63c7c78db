using Haetae.Platform.Identity;
namespace Haetae.Chat.Tests;

public sealed class ChatRulesTests
{
    [Fact]
    public void Two_people_have_one_direct_chat_whoever_starts_it()
    {
        var a = AccountRules.UserId("a", "a@x.io");
        var b = AccountRules.UserId("b", "b@x.io");

        Assert.Equal(Chats.DirectChatId(a, b), Chats.DirectChatId(b, a));
        Assert.NotEqual(Chats.DirectChatId(a, b), Chats.DirectChatId(a, AccountRules.UserId("c", "c@x.io")));
        Assert.True(Chats.IsChatId(Chats.DirectChatId(a, b)));
    }

    [Fact]
    public void A_retried_group_creation_finds_the_same_group()
    {
        Assert.Equal(Chats.GroupChatId("u1", "r1"), Chats.GroupChatId("u1", "r1"));
        Assert.NotEqual(Chats.GroupChatId("u1", "r1"), Chats.GroupChatId("u1", "r2"));
        Assert.StartsWith("g", Chats.GroupChatId("u1", "r1"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("d0123456789abcdef0123", true)]
    [InlineData("g0123456789abcdef0123", true)]
    [InlineData("x0123456789abcdef0123", false)]
    [InlineData("d0123456789ABCDEF0123", false)]
    [InlineData("d.>", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Chat_ids_are_checked_before_they_reach_a_subject_or_key(string? id, bool valid) =>
        Assert.Equal(valid, Chats.IsChatId(id));

    [Fact]
    public void Cursors_only_move_forward_and_reading_implies_delivery()
    {
        var cursor = Cursor.Start.Advance(delivered: 5, read: 0).Advance(delivered: 3, read: 2).Advance(delivered: 0, read: 7);

        Assert.Equal(new Cursor(7, 7), cursor);
        Assert.Equal(new Cursor(7, 7), cursor.Advance(1, 1));
    }

    [Fact]
    public void A_block_ends_a_friendship_and_a_new_friendship_ends_a_block()
    {
        var list = FriendList.Empty.Add("b").Add("c").Add("b");
        Assert.Equal(["b", "c"], list.Friends);

        var blocked = list.Block("b");
        Assert.Equal(["c"], blocked.Friends);
        Assert.Equal(["b"], blocked.Blocked);

        var again = blocked.Add("b");
        Assert.Equal(["c", "b"], again.Friends);
        Assert.Empty(again.Blocked);
        Assert.Empty(again.Remove("b").Remove("c").Friends);
    }
}
