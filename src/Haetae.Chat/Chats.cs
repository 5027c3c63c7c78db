using System.Text;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;

namespace Haetae.Chat;

/// <summary>A chat (chat.ID in the chats bucket); its member list is the authority on who may read and write it.</summary>
internal sealed record ChatRecord(string Id, ChatKind Kind, string? Title, IReadOnlyList<string> Members, string CreatedBy, DateTimeOffset CreatedAt);

/// <summary>The chats a user belongs to (member.USER): an index for listing; <see cref="ChatRecord.Members"/> decides.</summary>
internal sealed record MemberChats(IReadOnlyList<string> ChatIds);

/// <summary>A member's cursors in a chat (cursor.CHAT.USER): delivered to a device up to, and read up to.</summary>
internal sealed record Cursor(long Delivered, long Read)
{
    public static readonly Cursor Start = new(0, 0);

    public Cursor Advance(long delivered, long read) => new(Math.Max(Delivered, Math.Max(delivered, read)), Math.Max(Read, read));
}

/// <summary>Chats, membership, messages and receipts, as a member sees them.</summary>
internal sealed class Chats(Buckets buckets, Accounts accounts, Friends friends, Profiles profiles, Messages messages, Photos photos, CursorWriter cursors, TimeProvider time)
{
    public const int MaxMembers = 100;
    public const int MaxTextBytes = 16 * 1024;
    public const int MaxTitleLength = 100;

    public async Task<ChatView> CreateAsync(string caller, CreateChatRequest request, string requestId, CancellationToken cancellationToken)
    {
        var others = (request.MemberIds ?? []).Where(id => id != caller).Distinct().ToList();
        if (others.Count == 0)
        {
            throw ApiProblem.BadRequest("memberIds must name at least one other user");
        }

        if (others.Count >= MaxMembers)
        {
            throw ApiProblem.BadRequest($"a chat has at most {MaxMembers} members");
        }

        var title = request.Title?.Trim();
        if (title is { Length: > MaxTitleLength } || title?.Any(char.IsControl) == true)
        {
            throw ApiProblem.BadRequest($"title must be at most {MaxTitleLength} characters without control characters");
        }

        await RequireUsersAsync(others, cancellationToken);
        await RefuseIfBlockedAsync(caller, others, cancellationToken);
        var direct = others.Count == 1 && string.IsNullOrEmpty(title);

        var id = direct ? DirectChatId(caller, others[0]) : GroupChatId(caller, requestId);
        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        var record = new ChatRecord(id, direct ? ChatKind.Direct : ChatKind.Group, direct ? null : title, [caller, .. others], caller, time.GetUtcNow());
        if (!await chats.TryCreateAsync(ChatKeys.Chat(id), record, cancellationToken))
        {
            record = (await chats.TryGetAsync(ChatKeys.Chat(id), cancellationToken))!.Value;
        }

        foreach (var member in record.Members)
        {
            await AddToIndexAsync(chats, member, id, cancellationToken);
        }

        if (record.Kind == ChatKind.Group)
        {
            await messages.AppendAsync(id, MessageKind.Joined, record.CreatedBy, null, null, record.Members, $"create-{id}", cancellationToken);
        }
        else
        {
            // A 1:1 chat starts without a message; its members' devices still need to know it exists.
            await messages.AnnounceMembersAsync(id, record.Members, "created", cancellationToken);
        }

        return await ViewAsync(caller, record, cancellationToken);
    }

    public async Task<ChatView> InviteAsync(string caller, string chatId, InviteRequest request, string requestId, CancellationToken cancellationToken)
    {
        var chat = await RequireMemberAsync(caller, chatId, cancellationToken);
        if (chat.Kind != ChatKind.Group)
        {
            throw ApiProblem.BadRequest("people are invited to group chats; start a group chat to add someone");
        }

        var invited = (request.UserIds ?? []).Distinct().Where(id => !chat.Members.Contains(id)).ToList();
        if ((request.UserIds ?? []).Count == 0)
        {
            throw ApiProblem.BadRequest("userIds must name at least one user");
        }

        await RequireUsersAsync(invited, cancellationToken);
        await RefuseIfBlockedAsync(caller, invited, cancellationToken);
        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        var updated = await chats.UpdateAsync(ChatKeys.Chat(chatId), current =>
        {
            var members = current!.Members.Concat(invited).Distinct().ToList();
            return members.Count > MaxMembers ? throw ApiProblem.Conflict($"a chat has at most {MaxMembers} members") : current with { Members = members };
        }, cancellationToken);

        // Every requested member's index, not only the newly added: a retry after a partial failure completes it.
        foreach (var member in (request.UserIds ?? []).Distinct().Where(updated.Members.Contains))
        {
            await AddToIndexAsync(chats, member, chatId, cancellationToken);
        }

        if (invited.Count > 0)
        {
            await messages.AppendAsync(chatId, MessageKind.Joined, caller, null, null, invited, requestId, cancellationToken);
        }

        return await ViewAsync(caller, updated, cancellationToken);
    }

    public async Task LeaveAsync(string caller, string chatId, string requestId, CancellationToken cancellationToken)
    {
        var chat = await RequireMemberAsync(caller, chatId, cancellationToken);
        if (chat.Kind != ChatKind.Group)
        {
            throw ApiProblem.BadRequest("only group chats can be left");
        }

        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        await chats.UpdateAsync(ChatKeys.Chat(chatId), current => current! with { Members = [.. current.Members.Where(m => m != caller)] }, cancellationToken);
        await chats.UpdateAsync(ChatKeys.Member(caller), current => new MemberChats([.. (current?.ChatIds ?? []).Where(c => c != chatId)]), cancellationToken);
        await messages.AppendAsync(chatId, MessageKind.Left, caller, null, null, [caller], requestId, cancellationToken);
    }

    public async Task<MessageView> SendAsync(string caller, string chatId, SendMessageRequest request, string requestId, CancellationToken cancellationToken)
    {
        var chat = await RequireMemberAsync(caller, chatId, cancellationToken);
        var text = request.Text;
        var hasText = !string.IsNullOrWhiteSpace(text);
        var hasPhoto = !string.IsNullOrEmpty(request.PhotoId);
        if (hasText == hasPhoto)
        {
            throw ApiProblem.BadRequest("a message has either non-empty text or a photoId");
        }

        if (hasText && Encoding.UTF8.GetByteCount(text!) > MaxTextBytes)
        {
            throw ApiProblem.BadRequest($"text is longer than {MaxTextBytes} bytes (UTF-8)");
        }

        if (chat.Kind == ChatKind.Direct)
        {
            var other = chat.Members.First(m => m != caller);
            if (await friends.HasBlockedAsync(other, caller, cancellationToken))
            {
                throw ApiProblem.Forbidden("this user does not accept your messages");
            }
        }

        if (hasPhoto)
        {
            await photos.ShareAsync(caller, request.PhotoId!, chatId, cancellationToken);
        }

        var message = await messages.AppendAsync(
            chatId, hasPhoto ? MessageKind.Photo : MessageKind.Text, caller, hasText ? text : null, hasPhoto ? request.PhotoId : null, null, requestId, cancellationToken);
        cursors.Advance(chatId, caller, message.Sequence, message.Sequence);
        return message;
    }

    /// <summary>Refuses (404, 400 or 403) unless both are in the chat and neither has blocked the other.</summary>
    public async Task RequireConversationAsync(string caller, string chatId, string other, CancellationToken cancellationToken)
    {
        var chat = await RequireMemberAsync(caller, chatId, cancellationToken);
        if (!chat.Members.Contains(other) || other == caller)
        {
            throw ApiProblem.BadRequest("the receiver must be someone else in this chat");
        }

        if (await friends.HasBlockedAsync(other, caller, cancellationToken) || await friends.HasBlockedAsync(caller, other, cancellationToken))
        {
            throw ApiProblem.Forbidden("this user does not accept your messages");
        }
    }

    /// <summary>The message that shows another service's note (money, a gift) in the chat, once per request id (the envelope's, the voucher's).</summary>
    public async Task<MessageView> PostNoteAsync(string caller, string chatId, string receiver, MoneyNote? money, GiftNote? gift, string requestId, CancellationToken cancellationToken)
    {
        await RequireConversationAsync(caller, chatId, receiver, cancellationToken);
        var kind = gift is null ? MessageKind.Money : MessageKind.Gift;
        var message = await messages.AppendAsync(chatId, kind, caller, null, null, [receiver], requestId, cancellationToken, money, gift);
        cursors.Advance(chatId, caller, message.Sequence, message.Sequence);
        return message;
    }

    /// <summary>
    /// History by chat sequence: after a sequence (forwards), before one (backwards), or the newest page.
    /// Returning messages counts as delivering them to the caller.
    /// </summary>
    public async Task<MessagePage> HistoryAsync(string caller, string chatId, long? after, long? before, int? limit, CancellationToken cancellationToken)
    {
        await RequireMemberAsync(caller, chatId, cancellationToken);
        var size = limit ?? 50;
        if (size is < 1 or > Messages.MaxPage || after < 0 || before < 1 || (after is not null && before is not null))
        {
            throw ApiProblem.BadRequest($"limit must be 1 to {Messages.MaxPage}; after must be ≥ 0, before ≥ 1, and not both");
        }

        var last = await messages.LastSequenceAsync(chatId, cancellationToken);
        if (after > last)
        {
            return new MessagePage([], last, []);
        }

        var (first, end) = after is { } a ? (a + 1, Math.Min(last, a + size))
            : before is { } b ? (Math.Max(1, Math.Min(b, last + 1) - size), Math.Min(b, last + 1) - 1)
            : (Math.Max(1, last - size + 1), last);
        var page = await messages.RangeAsync(chatId, first, end, cancellationToken);
        if (page.Count > 0)
        {
            cursors.Advance(chatId, caller, page[^1].Sequence, 0);
        }

        return new MessagePage(page, last, await profiles.ViewsAsync(page.Select(m => m.SenderId).Distinct(), caller, cancellationToken));
    }

    public async Task<ReceiptsView> MarkReadAsync(string caller, string chatId, ReadRequest request, CancellationToken cancellationToken)
    {
        await RequireMemberAsync(caller, chatId, cancellationToken);
        var last = await messages.LastSequenceAsync(chatId, cancellationToken);
        if (request.Sequence < 0 || request.Sequence > last)
        {
            throw ApiProblem.BadRequest($"sequence must be between 0 and the chat's last sequence ({last})");
        }

        await AdvanceCursorAsync(chatId, caller, request.Sequence, request.Sequence, cancellationToken);
        return await ReceiptsAsync(caller, chatId, cancellationToken);
    }

    public async Task<ReceiptsView> ReceiptsAsync(string caller, string chatId, CancellationToken cancellationToken)
    {
        var chat = await RequireMemberAsync(caller, chatId, cancellationToken);
        var last = await messages.LastSequenceAsync(chatId, cancellationToken);
        var cursors = await CursorsAsync(chat, cancellationToken);
        var mine = cursors.First(c => c.UserId == caller);
        return new ReceiptsView(chatId, last, cursors, Math.Max(0, last - mine.Read));
    }

    public async Task<IReadOnlyList<ChatView>> ListAsync(string caller, CancellationToken cancellationToken)
    {
        var views = await Task.WhenAll((await MembershipsAsync(caller, cancellationToken)).Select(chat => ViewAsync(caller, chat, cancellationToken)));
        return [.. views.OrderByDescending(v => v.LastMessage?.SentAt ?? DateTimeOffset.MinValue)];
    }

    /// <summary>The chats <paramref name="caller"/> is a member of, without building their views.</summary>
    /// <remarks>
    /// The index is read from the leader: a device that connects right after a chat was created (at any
    /// site) must follow it, or it misses that chat's receipts until it reconnects.
    /// </remarks>
    public async Task<IReadOnlyList<ChatRecord>> MembershipsAsync(string caller, CancellationToken cancellationToken)
    {
        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        var index = (await chats.TryGetAsync(ChatKeys.Member(caller), cancellationToken))?.Value.ChatIds ?? [];
        var records = await Task.WhenAll(index.Select(id => chats.TryGetAsync(ChatKeys.Chat(id), cancellationToken)));
        return [.. records.Where(r => r is not null && r.Value.Members.Contains(caller)).Select(r => r!.Value)];
    }

    public async Task<ChatView> GetAsync(string caller, string chatId, CancellationToken cancellationToken) =>
        await ViewAsync(caller, await RequireMemberAsync(caller, chatId, cancellationToken), cancellationToken);

    /// <summary>The chat if <paramref name="caller"/> is a member; otherwise 404, which does not reveal whether it exists.</summary>
    public async Task<ChatRecord> RequireMemberAsync(string caller, string chatId, CancellationToken cancellationToken)
    {
        if (!IsChatId(chatId))
        {
            throw ApiProblem.NotFound("no such chat");
        }

        return await MemberViewAsync(caller, chatId, cancellationToken) ?? throw ApiProblem.NotFound("no such chat");
    }

    public async Task<bool> IsMemberAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        IsChatId(chatId) && await MemberViewAsync(userId, chatId, cancellationToken) is not null;

    /// <summary>
    /// The chat if <paramref name="userId"/> is a member, as the bucket's leader has it: someone who has just
    /// left is refused at every site at once, and someone just invited is let in.
    /// </summary>
    private async Task<ChatRecord?> MemberViewAsync(string userId, string chatId, CancellationToken cancellationToken)
    {
        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        var stored = (await chats.TryGetAsync(ChatKeys.Chat(chatId), cancellationToken))?.Value;
        return stored?.Members.Contains(userId) == true ? stored : null;
    }

    private async Task AdvanceCursorAsync(string chatId, string userId, long delivered, long read, CancellationToken cancellationToken)
    {
        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        var key = ChatKeys.Cursor(chatId, userId);
        var current = (await chats.TryGetAsync(key, cancellationToken))?.Value ?? Cursor.Start;
        if (current.Delivered >= Math.Max(delivered, read) && current.Read >= read)
        {
            return;
        }

        await chats.UpdateAsync(key, c => (c ?? Cursor.Start).Advance(delivered, read), cancellationToken);
    }

    private async Task<ChatView> ViewAsync(string caller, ChatRecord chat, CancellationToken cancellationToken)
    {
        var (last, lastMessage) = await messages.LastAsync(chat.Id, cancellationToken);
        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        var mine = Merge((await chats.TryGetAsync(ChatKeys.Cursor(chat.Id, caller), cancellationToken))?.Value, chat.Id, caller);
        var members = await Task.WhenAll(chat.Members.Select(async m => await profiles.ViewAsync(m, caller, cancellationToken) ?? new UserView(m, "(unknown)")));
        return new ChatView(chat.Id, chat.Kind, chat.Title, members, last, lastMessage, Math.Max(0, last - mine.Read));
    }

    private async Task<IReadOnlyList<CursorView>> CursorsAsync(ChatRecord chat, CancellationToken cancellationToken)
    {
        var chats = await buckets.GetAsync(Assets.ChatsBucket);
        var stored = await Task.WhenAll(chat.Members.Select(m => chats.TryGetAsync(ChatKeys.Cursor(chat.Id, m), cancellationToken)));
        return [.. chat.Members.Select((member, i) =>
        {
            var cursor = Merge(stored[i]?.Value, chat.Id, member);
            return new CursorView(member, cursor.Delivered, cursor.Read);
        })];
    }

    /// <summary>Nobody is put in a chat with someone who has blocked them.</summary>
    private async Task RefuseIfBlockedAsync(string caller, IReadOnlyList<string> others, CancellationToken cancellationToken)
    {
        foreach (var other in others)
        {
            if (await friends.HasBlockedAsync(other, caller, cancellationToken))
            {
                throw ApiProblem.Forbidden("one of these users does not accept your messages");
            }
        }
    }

    /// <summary>The stored cursor moved on by what this node has not written yet.</summary>
    private Cursor Merge(Cursor? stored, string chatId, string userId) =>
        cursors.Pending(chatId, userId) is { } pending ? (stored ?? Cursor.Start).Advance(pending.Delivered, pending.Read) : stored ?? Cursor.Start;

    private async Task RequireUsersAsync(IReadOnlyList<string> userIds, CancellationToken cancellationToken)
    {
        var users = await Task.WhenAll(userIds.Select(id => accounts.FindAsync(id, cancellationToken)));
        var unknown = userIds.Where((id, i) => users[i] is null).ToList();
        if (unknown.Count > 0)
        {
            throw ApiProblem.NotFound($"no such user: {string.Join(", ", unknown.Take(5))}");
        }
    }

    private static async Task AddToIndexAsync(JsonBucket chats, string member, string chatId, CancellationToken cancellationToken) =>
        await chats.UpdateAsync(ChatKeys.Member(member), current =>
            current?.ChatIds.Contains(chatId) == true ? current : new MemberChats([.. current?.ChatIds ?? [], chatId]), cancellationToken);

    /// <summary>The 1:1 chat of two people has one id, whoever creates it and wherever.</summary>
    internal static string DirectChatId(string a, string b) =>
        string.CompareOrdinal(a, b) < 0 ? RequestIds.Derive("d", 20, a, b) : RequestIds.Derive("d", 20, b, a);

    /// <summary>A retried group creation (same creator, same request id) finds the group the first attempt made.</summary>
    internal static string GroupChatId(string creator, string requestId) => RequestIds.Derive("g", 20, creator, requestId);

    internal static bool IsChatId(string? id) =>
        id is { Length: 21 } && (id[0] == 'd' || id[0] == 'g') && id.Skip(1).All(char.IsAsciiHexDigitLower);
}
