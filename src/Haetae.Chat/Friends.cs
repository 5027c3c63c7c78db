using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;

namespace Haetae.Chat;

/// <summary>
/// A user's friends and blocks (friends.USER in the social bucket), and which extra profile each friend
/// sees (<see cref="Assigned"/>: friend id to profile id; a friend not in it sees the default profile).
/// The assignments live here, not with the profiles, so that removing or blocking a friend drops their
/// assignment in the same compare-and-set: nobody who is no longer a friend keeps seeing a hidden profile.
/// </summary>
internal sealed record FriendList(IReadOnlyList<string> Friends, IReadOnlyList<string> Blocked, IReadOnlyDictionary<string, string>? Assigned = null)
{
    public static readonly FriendList Empty = new([], []);

    public FriendList Add(string userId) =>
        Friends.Contains(userId) ? this : this with { Friends = [.. Friends, userId], Blocked = [.. Blocked.Where(b => b != userId)] };

    public FriendList Remove(string userId) => Unassign(userId) with { Friends = [.. Friends.Where(f => f != userId)] };

    public FriendList Block(string userId) =>
        Unassign(userId) with { Friends = [.. Friends.Where(f => f != userId)], Blocked = Blocked.Contains(userId) ? Blocked : [.. Blocked, userId] };

    public FriendList Unblock(string userId) => this with { Blocked = [.. Blocked.Where(b => b != userId)] };

    /// <summary>The extra profile <paramref name="friendId"/> is assigned to, if they are a friend and assigned one.</summary>
    public string? ProfileOf(string friendId) =>
        Assigned is not null && Friends.Contains(friendId) && Assigned.TryGetValue(friendId, out var profileId) ? profileId : null;

    public FriendList Assign(string friendId, string profileId) =>
        this with { Assigned = new Dictionary<string, string>(Assigned ?? new Dictionary<string, string>()) { [friendId] = profileId } };

    public FriendList Unassign(string friendId) =>
        Assigned is null || !Assigned.ContainsKey(friendId) ? this : this with { Assigned = Assigned.Where(a => a.Key != friendId).ToDictionary() };

    /// <summary>Every friend assigned to <paramref name="profileId"/> goes back to the default profile.</summary>
    public FriendList UnassignAll(string profileId) =>
        Assigned is null ? this : this with { Assigned = Assigned.Where(a => a.Value != profileId).ToDictionary() };
}

/// <summary>Friends: add by id, phone or e-mail; list; remove; block (a blocked user cannot message you).</summary>
internal sealed class Friends(Buckets buckets, Accounts accounts, Func<Profiles> profiles)
{
    public const int MaxFriends = 5000;

    public async Task<UserView> AddAsync(string owner, AddFriendRequest request, CancellationToken cancellationToken)
    {
        var target = await ResolveAsync(request, cancellationToken);
        if (target.Id == owner)
        {
            throw ApiProblem.BadRequest("you cannot add yourself as a friend");
        }

        await ChangeAsync(owner, list => list.Friends.Count >= MaxFriends && !list.Friends.Contains(target.Id)
            ? throw ApiProblem.Conflict($"at most {MaxFriends} friends")
            : list.Add(target.Id), cancellationToken);
        return await profiles().ViewAsync(target.Id, owner, cancellationToken) ?? throw ApiProblem.NotFound("no such user");
    }

    public async Task RemoveAsync(string owner, string friendId, CancellationToken cancellationToken)
    {
        var list = await GetAsync(owner, cancellationToken);
        if (!list.Friends.Contains(friendId))
        {
            throw ApiProblem.NotFound("no such friend");
        }

        await ChangeAsync(owner, l => l.Remove(friendId), cancellationToken);
    }

    public async Task BlockAsync(string owner, string userId, CancellationToken cancellationToken)
    {
        if (userId == owner || await accounts.FindAsync(userId, cancellationToken) is null)
        {
            throw ApiProblem.NotFound("no such user");
        }

        await ChangeAsync(owner, l => l.Block(userId), cancellationToken);
    }

    public async Task UnblockAsync(string owner, string userId, CancellationToken cancellationToken)
    {
        var list = await GetAsync(owner, cancellationToken);
        if (!list.Blocked.Contains(userId))
        {
            throw ApiProblem.NotFound("this user is not blocked");
        }

        await ChangeAsync(owner, l => l.Unblock(userId), cancellationToken);
    }

    public async Task<FriendsView> ListAsync(string owner, CancellationToken cancellationToken)
    {
        var list = await GetAsync(owner, cancellationToken);
        return new FriendsView(await profiles().ViewsAsync(list.Friends, owner, cancellationToken), await profiles().ViewsAsync(list.Blocked, owner, cancellationToken));
    }

    /// <summary>True if <paramref name="owner"/> has blocked <paramref name="other"/>.</summary>
    /// <remarks>Read from the store, not a cache: once a block is acknowledged, no site accepts another message.</remarks>
    public async Task<bool> HasBlockedAsync(string owner, string other, CancellationToken cancellationToken) =>
        (await GetAsync(owner, cancellationToken)).Blocked.Contains(other);

    /// <remarks>From the leader: a person who has just added a friend sees them in the list at once, at any site.</remarks>
    public async Task<FriendList> GetAsync(string owner, CancellationToken cancellationToken)
    {
        var social = await buckets.GetAsync(Assets.SocialBucket);
        return (await social.TryGetAsync(ChatKeys.Friends(owner), cancellationToken))?.Value ?? FriendList.Empty;
    }

    public async Task<FriendList> ChangeAsync(string owner, Func<FriendList, FriendList> change, CancellationToken cancellationToken)
    {
        var social = await buckets.GetAsync(Assets.SocialBucket);
        return await social.UpdateAsync(ChatKeys.Friends(owner), current => change(current ?? FriendList.Empty), cancellationToken);
    }

    private async Task<UserRecord> ResolveAsync(AddFriendRequest request, CancellationToken cancellationToken)
    {
        var given = new[] { request.UserId, request.Phone, request.Email }.Count(v => !string.IsNullOrWhiteSpace(v));
        if (given != 1)
        {
            throw ApiProblem.BadRequest("give exactly one of userId, phone, email");
        }

        var user = !string.IsNullOrWhiteSpace(request.UserId) ? await accounts.FindAsync(request.UserId, cancellationToken)
            : !string.IsNullOrWhiteSpace(request.Phone) ? await accounts.FindByLoginAsync("phone", AccountRules.NormalizePhone(request.Phone)!, cancellationToken)
            : await accounts.FindByLoginAsync("email", AccountRules.NormalizeEmail(request.Email)!, cancellationToken);
        return user ?? throw ApiProblem.NotFound("no such user");
    }

}
