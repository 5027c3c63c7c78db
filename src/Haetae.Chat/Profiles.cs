using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;
using Microsoft.Extensions.Logging;

namespace Haetae.Chat;

/// <summary>An extra profile, shown instead of the default one to the friends assigned to it.</summary>
internal sealed record ExtraProfile(string Id, string DisplayName, string? StatusMessage, string? PhotoId);

/// <summary>A user's extra profiles (profiles.USER in the social bucket); who sees which is in their <see cref="FriendList"/>.</summary>
internal sealed record ProfileSet(IReadOnlyList<ExtraProfile> Profiles)
{
    public static readonly ProfileSet Empty = new([]);

    public ExtraProfile? Find(string id) => Profiles.FirstOrDefault(p => p.Id == id);
}

/// <summary>
/// Multi-profile: a default profile (kept with the account) and up to three extra profiles, each shown to
/// the friends assigned to it. <see cref="ViewAsync"/> is the one place that decides what a viewer sees,
/// and it fails closed: it reads the assignment and the profile from their bucket's leader (a replica may
/// trail an acknowledged change), and whatever goes wrong (no leader, a key missing, an assignment naming
/// a deleted profile, a value it cannot parse) the viewer gets the default profile. Nothing is cached, so no
/// view computed for one viewer can reach another.
/// </summary>
internal sealed partial class Profiles(Buckets buckets, Accounts accounts, Friends friends, Photos photos, ILogger<Profiles> logger)
{
    public const int MaxExtras = 3;
    public const int MaxStatusLength = 140;
    public const string DefaultId = "default";

    /// <summary>How <paramref name="owner"/> appears to <paramref name="viewer"/>; null if there is no such user.</summary>
    public async Task<UserView?> ViewAsync(string owner, string viewer, CancellationToken cancellationToken)
    {
        var account = await accounts.FindAsync(owner, cancellationToken);
        if (account is null)
        {
            return null;
        }

        if (owner == viewer)
        {
            return account.DefaultView;
        }

        try
        {
            var social = await buckets.GetAsync(Assets.SocialBucket);
            var profileId = (await social.GetFromLeaderAsync(ChatKeys.Friends(owner), cancellationToken))?.Value.ProfileOf(viewer);
            if (profileId is null)
            {
                return account.DefaultView;
            }

            var extra = (await social.GetFromLeaderAsync(ChatKeys.Profiles(owner), cancellationToken))?.Value.Find(profileId);
            return extra is null ? account.DefaultView : new UserView(owner, extra.DisplayName, extra.StatusMessage, extra.PhotoId);
        }
        catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            LogFellBack(owner, e.Message);
            return account.DefaultView;
        }
    }

    /// <summary>How each of <paramref name="owners"/> appears to <paramref name="viewer"/>, in order; unknown users are left out.</summary>
    public async Task<IReadOnlyList<UserView>> ViewsAsync(IEnumerable<string> owners, string viewer, CancellationToken cancellationToken)
    {
        var views = await Task.WhenAll(owners.Select(owner => ViewAsync(owner, viewer, cancellationToken)));
        return [.. views.OfType<UserView>()];
    }

    public async Task<ProfilesView> MineAsync(string owner, CancellationToken cancellationToken)
    {
        var account = await accounts.FindAsync(owner, cancellationToken) ?? throw ApiProblem.NotFound("no such user");
        var social = await buckets.GetAsync(Assets.SocialBucket);
        var list = (await social.GetFromLeaderAsync(ChatKeys.Friends(owner), cancellationToken))?.Value ?? FriendList.Empty;
        var set = (await social.GetFromLeaderAsync(ChatKeys.Profiles(owner), cancellationToken))?.Value ?? ProfileSet.Empty;
        return new ProfilesView(
            new ProfileView(DefaultId, account.DisplayName, account.StatusMessage, account.PhotoId, [.. list.Friends.Where(f => list.ProfileOf(f) is not { } p || set.Find(p) is null)]),
            [.. set.Profiles.Select(p => new ProfileView(p.Id, p.DisplayName, p.StatusMessage, p.PhotoId, [.. list.Friends.Where(f => list.ProfileOf(f) == p.Id)]))]);
    }

    public async Task<ProfileView> UpdateDefaultAsync(string owner, ProfileRequest request, CancellationToken cancellationToken)
    {
        var (name, status, photo) = await ValidateAsync(owner, request, cancellationToken);
        var accountsBucket = await buckets.GetAsync(Assets.AccountsBucket);
        var updated = await accountsBucket.UpdateAsync(IdentityKeys.User(owner), current =>
            (current ?? throw ApiProblem.NotFound("no such user")) with { DisplayName = name, StatusMessage = status, PhotoId = photo }, cancellationToken);
        return (await MineAsync(owner, cancellationToken)).Default with { DisplayName = updated.DisplayName, StatusMessage = updated.StatusMessage, PhotoId = updated.PhotoId };
    }

    /// <summary>Creates an extra profile. Its id comes from the request id, so a retry creates nothing more.</summary>
    public async Task<ProfileView> CreateAsync(string owner, ProfileRequest request, string requestId, CancellationToken cancellationToken)
    {
        var (name, status, photo) = await ValidateAsync(owner, request, cancellationToken);
        var id = RequestIds.Derive("f", 15, owner, requestId);
        await ChangeSetAsync(owner, set => set.Find(id) is not null ? set
            : set.Profiles.Count >= MaxExtras ? throw ApiProblem.Conflict($"at most {MaxExtras} extra profiles")
            : new ProfileSet([.. set.Profiles, new ExtraProfile(id, name, status, photo)]), cancellationToken);
        return (await MineAsync(owner, cancellationToken)).Extras.FirstOrDefault(p => p.Id == id) ?? throw ApiProblem.NotFound("no such profile");
    }

    public async Task<ProfileView> UpdateAsync(string owner, string profileId, ProfileRequest request, CancellationToken cancellationToken)
    {
        var (name, status, photo) = await ValidateAsync(owner, request, cancellationToken);
        await ChangeSetAsync(owner, set => set.Find(profileId) is null ? throw ApiProblem.NotFound("no such profile")
            : new ProfileSet([.. set.Profiles.Select(p => p.Id == profileId ? new ExtraProfile(p.Id, name, status, photo) : p)]), cancellationToken);
        return (await MineAsync(owner, cancellationToken)).Extras.FirstOrDefault(p => p.Id == profileId) ?? throw ApiProblem.NotFound("no such profile");
    }

    /// <summary>
    /// Deletes an extra profile: first the profile (from then on its friends see the default one, because an
    /// assignment naming a missing profile shows the default), then the assignments naming it.
    /// </summary>
    public async Task DeleteAsync(string owner, string profileId, CancellationToken cancellationToken)
    {
        await ChangeSetAsync(owner, set => set.Find(profileId) is null ? throw ApiProblem.NotFound("no such profile")
            : new ProfileSet([.. set.Profiles.Where(p => p.Id != profileId)]), cancellationToken);
        await friends.ChangeAsync(owner, list => list.UnassignAll(profileId), cancellationToken);
    }

    /// <summary>Shows <paramref name="profileId"/> to a friend (moving them from any other); "default" moves them back.</summary>
    public async Task AssignAsync(string owner, string profileId, string friendId, CancellationToken cancellationToken)
    {
        if (profileId != DefaultId)
        {
            var social = await buckets.GetAsync(Assets.SocialBucket);
            if ((await social.GetFromLeaderAsync(ChatKeys.Profiles(owner), cancellationToken))?.Value.Find(profileId) is null)
            {
                throw ApiProblem.NotFound("no such profile");
            }
        }

        await friends.ChangeAsync(owner, list => !list.Friends.Contains(friendId) ? throw ApiProblem.NotFound("no such friend")
            : profileId == DefaultId ? list.Unassign(friendId)
            : list.Assign(friendId, profileId), cancellationToken);
    }

    /// <summary>Takes a friend off <paramref name="profileId"/>: they see the default profile again.</summary>
    public async Task UnassignAsync(string owner, string profileId, string friendId, CancellationToken cancellationToken) =>
        await friends.ChangeAsync(owner, list => list.ProfileOf(friendId) != profileId
            ? throw ApiProblem.NotFound("this friend is not assigned to this profile")
            : list.Unassign(friendId), cancellationToken);

    private async Task ChangeSetAsync(string owner, Func<ProfileSet, ProfileSet> change, CancellationToken cancellationToken)
    {
        var social = await buckets.GetAsync(Assets.SocialBucket);
        await social.UpdateAsync(ChatKeys.Profiles(owner), current => change(current ?? ProfileSet.Empty), cancellationToken);
    }

    private async Task<(string Name, string? Status, string? Photo)> ValidateAsync(string owner, ProfileRequest request, CancellationToken cancellationToken)
    {
        var name = AccountRules.DisplayName(request.DisplayName);
        var status = string.IsNullOrWhiteSpace(request.StatusMessage) ? null : request.StatusMessage.Trim();
        if (status is not null && (status.Length > MaxStatusLength || status.Any(char.IsControl)))
        {
            throw ApiProblem.BadRequest($"statusMessage must be at most {MaxStatusLength} characters without control characters");
        }

        var photo = string.IsNullOrEmpty(request.PhotoId) ? null : request.PhotoId;
        if (photo is not null && !await photos.IsOwnedByAsync(owner, photo, cancellationToken))
        {
            throw ApiProblem.BadRequest("photoId must be a photo you uploaded");
        }

        return (name, status, photo);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Showing the default profile of {Owner}: its assignment could not be read ({Reason})")]
    private partial void LogFellBack(string owner, string reason);
}
