using Haetae.Contracts;

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

/// <summary>The kit's way for other services to speak in a chat (pay's money, gifts next); the chat module provides it.</summary>
public interface IChatPosts
{
    /// <summary>Refuses (an ApiProblem, 4xx) unless <paramref name="senderId"/> and <paramref name="receiverId"/> are both in the chat and neither has blocked the other.</summary>
    Task RequireAsync(string chatId, string senderId, string receiverId, CancellationToken cancellationToken);

    /// <summary>Posts the message that shows <paramref name="money"/> in the chat, once per <paramref name="requestId"/>; returns the message.</summary>
    Task<MessageView> PostMoneyAsync(string chatId, string senderId, string receiverId, MoneyNote money, string requestId, CancellationToken cancellationToken);
}
