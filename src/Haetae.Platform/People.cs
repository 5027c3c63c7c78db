using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;

namespace Haetae.Platform;

/// <summary>
/// The kit's word for people as one person sees another, for services that are not chat (pay names
/// the other side of a payment with it). The chat module, which keeps friends and profiles, provides it.
/// </summary>
public interface IPeople
{
    /// <summary><paramref name="owner"/> as <paramref name="viewer"/> sees them (the profile assigned to the viewer, multi-profile rules applied); null when there is no such person.</summary>
    Task<UserView?> SeenByAsync(string owner, string viewer, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="from"/> may send something to <paramref name="to"/>: they are friends, and neither has blocked the other.</summary>
    Task<bool> AreFriendsAsync(string from, string to, CancellationToken cancellationToken);
}

/// <summary>The kit's way for other services to speak in a chat (pay's money, gift vouchers); the chat module provides it.</summary>
public interface IChatPosts
{
    /// <summary>Refuses (an ApiProblem, 4xx) unless <paramref name="senderId"/> and <paramref name="receiverId"/> are both in the chat and neither has blocked the other.</summary>
    Task RequireAsync(string chatId, string senderId, string receiverId, CancellationToken cancellationToken);

    /// <summary>Posts the message that shows <paramref name="money"/> in the chat, once per <paramref name="requestId"/>; returns the message.</summary>
    Task<MessageView> PostMoneyAsync(string chatId, string senderId, string receiverId, MoneyNote money, string requestId, CancellationToken cancellationToken);

    /// <summary>Posts the message that shows the gift voucher in the chat, once per <paramref name="requestId"/>; returns the message.</summary>
    Task<MessageView> PostGiftAsync(string chatId, string senderId, string receiverId, GiftNote gift, string requestId, CancellationToken cancellationToken);
}

/// <summary>Who a service's gift of something (money, a voucher) may go to: the kit's one rule for every such service.</summary>
public static class Recipients
{
    /// <summary>
    /// Refuses (an ApiProblem, 4xx) unless <paramref name="to"/> is another person <paramref name="from"/> may
    /// give <paramref name="what"/> to: someone in the chat <paramref name="chatId"/> with them (checked before
    /// anything moves: what cannot be shown in the chat is not sent), or without a chat a friend; never
    /// between people who blocked one another.
    /// </summary>
    public static async Task RequireAsync(IPeople people, IChatPosts chats, string from, string? to, string? chatId, string what, CancellationToken cancellationToken)
    {
        if (!AccountRules.IsUserId(to))
        {
            throw ApiProblem.BadRequest("to must name a person (their user id)");
        }

        if (to == from)
        {
            throw ApiProblem.BadRequest($"{what} goes to someone else");
        }

        if (await people.SeenByAsync(to, from, cancellationToken) is null)
        {
            throw ApiProblem.NotFound($"no person {to}");
        }

        if (chatId is not null)
        {
            await chats.RequireAsync(chatId, from, to, cancellationToken);
        }
        else if (!await people.AreFriendsAsync(from, to, cancellationToken))
        {
            throw ApiProblem.Forbidden($"{what} goes to friends, or to someone in a chat with you, and not between people who blocked one another");
        }
    }
}
