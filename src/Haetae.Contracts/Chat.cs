using System.Text.Json.Serialization;

namespace Haetae.Contracts;

/// <summary>
/// What the node accepts, for clients to check before they send (GET /api/limits): the one place these
/// numbers live outside the rules that enforce them.
/// </summary>
public sealed record Limits(
    int DisplayNameLength, int PasswordMinLength, int PasswordMaxLength, int StatusLength, int ExtraProfiles,
    int MessageTextBytes, int ChatTitleLength, int ChatMembers, long PhotoBytes, IReadOnlyList<string> PhotoTypes);

/// <summary>Sign up with a phone number or an e-mail address (at least one), a display name and a password.</summary>
public sealed record SignUpRequest(string? Phone, string? Email, string? DisplayName, string? Password);

/// <summary>Sign in with a phone number or e-mail address.</summary>
public sealed record SignInRequest(string? Login, string? Password);

/// <summary>A signed access token; every site accepts it until it expires or its session is signed out.</summary>
public sealed record TokenResponse(string AccessToken, DateTimeOffset ExpiresAt, string UserId);

/// <summary>
/// Another user as the caller sees them: the profile that user shows the caller (an extra profile the
/// user assigned the caller to, otherwise the default one). It never says which profile it is.
/// </summary>
public sealed record UserView(string Id, string DisplayName, string? StatusMessage = null, string? PhotoId = null);

/// <summary>Create or edit one of the caller's profiles. PhotoId is a photo the caller uploaded, or null for none.</summary>
public sealed record ProfileRequest(string? DisplayName, string? StatusMessage, string? PhotoId);

/// <summary>One of the caller's own profiles: Id "default", or an extra profile's id with the friends who see it.</summary>
public sealed record ProfileView(string Id, string DisplayName, string? StatusMessage, string? PhotoId, IReadOnlyList<string> FriendIds);

/// <summary>The caller's default profile and up to three extra profiles.</summary>
public sealed record ProfilesView(ProfileView Default, IReadOnlyList<ProfileView> Extras);

/// <summary>Add a friend by one of: user id, phone number, e-mail address.</summary>
public sealed record AddFriendRequest(string? UserId, string? Phone, string? Email);

public sealed record FriendsView(IReadOnlyList<UserView> Friends, IReadOnlyList<UserView> Blocked);

public enum ChatKind
{
    Direct,
    Group,
}

/// <summary>Create a chat: one other member makes a 1:1 chat (the same one every time), more make a group.</summary>
public sealed record CreateChatRequest(IReadOnlyList<string>? MemberIds, string? Title);

public sealed record InviteRequest(IReadOnlyList<string>? UserIds);

/// <summary>A chat as a member sees it, with its newest message and how many the caller has not read.</summary>
public sealed record ChatView(
    string Id,
    ChatKind Kind,
    string? Title,
    IReadOnlyList<UserView> Members,
    long LastSequence,
    MessageView? LastMessage,
    long Unread);

/// <summary>Send text or a photo (an id returned by the photo upload). The request id header makes it idempotent.</summary>
public sealed record SendMessageRequest(string? Text, string? PhotoId);

public enum MessageKind
{
    Text,
    Photo,
    Joined,
    Left,

    /// <summary>Money sent in the chat (<see cref="MessageView.Money"/>); its state is the envelope's, in pay.</summary>
    Money,

    /// <summary>A gift voucher sent in the chat (<see cref="MessageView.Gift"/>); its state is the voucher's, in gifts.</summary>
    Gift,
}

/// <summary>Money sent in a chat: the envelope (GET /api/pay/envelopes/{id} says whether it was accepted) and its amount in won.</summary>
public sealed record MoneyNote(string EnvelopeId, long Amount);

/// <summary>A gift voucher sent in a chat: the voucher (GET /api/gifts/vouchers/{id}), what it is for, at which shop, and its price in won.</summary>
public sealed record GiftNote(string VoucherId, string Product, string Shop, long Price);

/// <summary>One message of a chat. <see cref="Sequence"/> is the chat's own sequence: 1, 2, 3… with no gaps.</summary>
public sealed record MessageView(
    string ChatId,
    long Sequence,
    MessageKind Kind,
    string SenderId,
    string? Text,
    string? PhotoId,
    IReadOnlyList<string>? UserIds,
    DateTimeOffset SentAt,
    string RequestId,
    MoneyNote? Money = null,
    GiftNote? Gift = null);

/// <summary>
/// A page of history; <see cref="Messages"/> ascend by sequence. <see cref="Senders"/> shows each sender
/// of the page as the caller sees them now.
/// </summary>
public sealed record MessagePage(IReadOnlyList<MessageView> Messages, long LastSequence, IReadOnlyList<UserView>? Senders = null);

/// <summary>Move the caller's read (and delivered) cursor forward to <see cref="Sequence"/>.</summary>
public sealed record ReadRequest(long Sequence);

/// <summary>A member's cursors in a chat: everything up to Delivered has reached a device, up to Read has been read.</summary>
public sealed record CursorView(string UserId, long Delivered, long Read);

/// <summary>Receipts of a chat: each member's cursors, and for the caller, how many messages are unread.</summary>
public sealed record ReceiptsView(string ChatId, long LastSequence, IReadOnlyList<CursorView> Members, long Unread);

public sealed record PhotoView(string Id, string ContentType, long Size);

/// <summary>The request id header: a retry that carries the same value has the same effect once.</summary>
public static class ChatHeaders
{
    public const string RequestId = "Haetae-Request-Id";
}

/// <summary>
/// Frames of the realtime WebSocket (/api/realtime), JSON text. The device first sends a
/// <see cref="ResumeFrame"/> with the last sequence it saw in each chat; the node then sends everything
/// after it, then <c>{"type":"live"}</c>, then live events, with no gap and no duplicate per chat.
/// <see cref="Chats"/> null is a new device: every chat starts from now. Otherwise a chat the device does
/// not list is one it has not heard of yet (it joined while the device was away, or just before the
/// socket dropped) and is sent from its beginning.
/// </summary>
public sealed record ResumeFrame(string Type, IReadOnlyDictionary<string, long>? Chats);

/// <summary>
/// A frame from the device after its <see cref="ResumeFrame"/>. {"type":"send","requestId":"...","chatId":"...","text":"..."}
/// (or "photoId") sends a message as POST /api/chats/{chatId}/messages does, with the same request-id
/// rule: the node answers on the same connection with a <see cref="SentFrame"/> (the stored message, its
/// sequence) or a <see cref="RefusedFrame"/>, in the order the sends came. A device that loses its
/// connection sends what was not answered again, with the same request ids, at the next site.
/// </summary>
public sealed record DeviceFrame(string? Type, string? RequestId, string? ChatId, string? Text, string? PhotoId);

/// <summary>
/// A frame from the node, one of a closed set, told apart on the wire by its "type" (written first):
/// {"type":"message","message":{...}}, {"type":"receipt","receipt":{...}}, {"type":"profile","profile":{...}}
/// {"type":"chat","chatId":"..."}, {"type":"live","positions":{...}}, {"type":"notice","notices":[...]}, and the
/// answers to the device's sends, {"type":"sent","requestId":"...","message":{...}} or {"type":"refused",...}.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(MessageFrame), "message")]
[JsonDerivedType(typeof(ReceiptFrame), "receipt")]
[JsonDerivedType(typeof(ProfileFrame), "profile")]
[JsonDerivedType(typeof(ChatFrame), "chat")]
[JsonDerivedType(typeof(LiveFrame), "live")]
[JsonDerivedType(typeof(NoticeFrame), "notice")]
[JsonDerivedType(typeof(SentFrame), "sent")]
[JsonDerivedType(typeof(RefusedFrame), "refused")]
public abstract record RealtimeFrame;

/// <summary>A send over the connection was stored (on a majority of sites, on disk): the message with its sequence.</summary>
public sealed record SentFrame(string RequestId, MessageView Message) : RealtimeFrame;

/// <summary>
/// A send over the connection was not stored: a 4xx <paramref name="Status"/> is the platform's answer (as
/// the HTTP API's ProblemDetails); a 5xx means the store did not answer in time, and the device sends it again.
/// </summary>
public sealed record RefusedFrame(string? RequestId, int Status, string Title, string? Detail) : RealtimeFrame;

/// <summary>A message of one of the device's chats, each sequence once and in order.</summary>
public sealed record MessageFrame(MessageView Message) : RealtimeFrame;

/// <summary>A member's cursors moved in one of the device's chats.</summary>
public sealed record ReceiptFrame(ReceiptEvent Receipt) : RealtimeFrame;

/// <summary>How another user now appears to this device's user (they changed a profile, or moved this user between their profiles).</summary>
public sealed record ProfileFrame(UserView Profile) : RealtimeFrame;

/// <summary>The device's user is in a new chat, which may have no message yet: the device reads its chats again.</summary>
public sealed record ChatFrame(string ChatId) : RealtimeFrame;

/// <summary>Caught up: Positions holds the last sequence sent in each chat, for the device to resume from next time.</summary>
public sealed record LiveFrame(IReadOnlyDictionary<string, long> Positions) : RealtimeFrame;

/// <summary>
/// The platform's notices now (open incidents, their resolution, how to claim damages), all of them each
/// time: sent when the device goes live and whenever they change; an empty list clears the banner.
/// </summary>
public sealed record NoticeFrame(IReadOnlyList<Notice> Notices) : RealtimeFrame;

/// <summary>A member's cursors moved.</summary>
public sealed record ReceiptEvent(string ChatId, string UserId, long Delivered, long Read);

/// <summary>People were added to a chat (stored on the chat's shard, outside its message sequence).</summary>
public sealed record MembersAdded(string ChatId, IReadOnlyList<string> UserIds);
