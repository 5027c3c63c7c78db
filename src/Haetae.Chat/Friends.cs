using Haetae.Contracts;
using Haetae.Store;

namespace Haetae.Chat;

/// <summary>A user's friends and blocks (friends.USER in the social bucket).</summary>
internal sealed record FriendList(IReadOnlyList<string> Friends, IReadOnlyList<string> Blocked)
{
    public static readonly FriendList Empty = new([], []);

    public FriendList Add(string userId) =>
        Friends.Contains(userId) ? this : this with { Friends = [.. Friends, userId], Blocked = [.. Blocked.Where(b => b != userId)] };

    public FriendList Remove(string userId) => this with { Friends = [.. Friends.Where(f => f != userId)] };

    public FriendList Block(string userId) =>
        this with { Friends = [.. Friends.Where(f => f != userId)], Blocked = Blocked.Contains(userId) ? Blocked : [.. Blocked, userId] };

    public FriendList Unblock(string userId) => this with { Blocked = [.. Blocked.Where(b => b != userId)] };
}

/// <summary>Friends: add by id, phone or e-mail; list; remove; block (a blocked user cannot message you).</summary>
internal sealed class Friends(Buckets buckets, Accounts accounts)
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
        return new UserView(target.Id, target.DisplayName);
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
        return new FriendsView(await ViewsAsync(list.Friends, cancellationToken), await ViewsAsync(list.Blocked, cancellationToken));
    }

    /// <summary>True if <paramref name="owner"/> has blocked <paramref name="other"/>.</summary>
    /// <remarks>Read from the store, not a cache: once a block is acknowledged, no site accepts another message.</remarks>
    public async Task<bool> HasBlockedAsync(string owner, string other, CancellationToken cancellationToken) =>
        (await GetAsync(owner, cancellationToken)).Blocked.Contains(other);

    public async Task<FriendList> GetAsync(string owner, CancellationToken cancellationToken)
    {
        var social = await buckets.GetAsync(Assets.SocialBucket);
        return (await social.TryGetAsync<FriendList>($"friends.{owner}", cancellationToken))?.Value ?? FriendList.Empty;
    }

    private async Task ChangeAsync(string owner, Func<FriendList, FriendList> change, CancellationToken cancellationToken)
    {
        var social = await buckets.GetAsync(Assets.SocialBucket);
        await social.UpdateAsync<FriendList>($"friends.{owner}", current => change(current ?? FriendList.Empty), cancellationToken);
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

    private async Task<IReadOnlyList<UserView>> ViewsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var users = await Task.WhenAll(ids.Select(id => accounts.FindAsync(id, cancellationToken)));
        return [.. users.OfType<UserRecord>().Select(u => new UserView(u.Id, u.DisplayName))];
    }
}
