using Haetae.Contracts;
using Haetae.Platform;

namespace Haetae.Chat;

/// <summary>The kit's <see cref="IPeople"/> and <see cref="IChatPosts"/>, from chat's friends, profiles and chats.</summary>
internal sealed class ChatPeople(Profiles profiles, Friends friends, Func<Chats> chats) : IPeople, IChatPosts
{
    public Task RequireAsync(string chatId, string senderId, string receiverId, CancellationToken cancellationToken) =>
        chats().RequireConversationAsync(senderId, chatId, receiverId, cancellationToken);

    public Task<MessageView> PostMoneyAsync(string chatId, string senderId, string receiverId, MoneyNote money, string requestId, CancellationToken cancellationToken) =>
        chats().PostNoteAsync(senderId, chatId, receiverId, money, null, requestId, cancellationToken);

    public Task<MessageView> PostGiftAsync(string chatId, string senderId, string receiverId, GiftNote gift, string requestId, CancellationToken cancellationToken) =>
        chats().PostNoteAsync(senderId, chatId, receiverId, null, gift, requestId, cancellationToken);

    public Task<UserView?> SeenByAsync(string owner, string viewer, CancellationToken cancellationToken) => profiles.ViewAsync(owner, viewer, cancellationToken);

    public async Task<bool> AreFriendsAsync(string from, string to, CancellationToken cancellationToken)
    {
        var (mine, theirs) = (friends.GetAsync(from, cancellationToken), friends.GetAsync(to, cancellationToken));
        var (sender, receiver) = (await mine, await theirs);
        return sender.Friends.Contains(to) && !sender.Blocked.Contains(to) && !receiver.Blocked.Contains(from);
    }
}
