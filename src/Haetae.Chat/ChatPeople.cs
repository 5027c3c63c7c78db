using Haetae.Contracts;
using Haetae.Platform;

namespace Haetae.Chat;

/// <summary>The kit's <see cref="IPeople"/> from chat's friends and profiles.</summary>
internal sealed class ChatPeople(Profiles profiles, Friends friends) : IPeople
{
    public Task<UserView?> SeenByAsync(string owner, string viewer, CancellationToken cancellationToken) => profiles.ViewAsync(owner, viewer, cancellationToken);

    public async Task<bool> AreFriendsAsync(string from, string to, CancellationToken cancellationToken)
    {
        var (mine, theirs) = (friends.GetAsync(from, cancellationToken), friends.GetAsync(to, cancellationToken));
        var (sender, receiver) = (await mine, await theirs);
        return sender.Friends.Contains(to) && !sender.Blocked.Contains(to) && !receiver.Blocked.Contains(from);
    }
}
