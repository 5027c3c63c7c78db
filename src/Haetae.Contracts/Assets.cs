namespace Haetae.Contracts;

/// <summary>A replicated JetStream asset that every node provisions at start-up.</summary>
/// <param name="Name">The asset's own name (stream name, bucket name).</param>
/// <param name="StreamName">The JetStream stream that backs it (KV and object stores are streams too).</param>
public abstract record Asset(string Name, string StreamName);

/// <summary>A stream holding one shard of a keyed sequence (for example the chats whose id hashes to it).</summary>
/// <param name="AllowAtomic">Whether writers may commit a batch of messages atomically (nats-server's allow_atomic).</param>
public sealed record StreamAsset(string Name, IReadOnlyList<string> Subjects, bool AllowAtomic = false) : Asset(Name, Name);

/// <summary>A key-value bucket with compare-and-set.</summary>
/// <param name="MaxAge">Entries older than this are forgotten (null: kept).</param>
public sealed record KvAsset(string Bucket, int History, TimeSpan? MaxAge = null) : Asset(Bucket, "KV_" + Bucket);

/// <summary>An object store for large blobs (photos).</summary>
public sealed record ObjectStoreAsset(string Bucket) : Asset(Bucket, "OBJ_" + Bucket);

/// <summary>
/// The names and subjects of the replicated assets, shared by the services and their clients. Each
/// service module declares the assets it keeps (IHaetaeModule.Assets); the platform's catalog is their union.
/// </summary>
public static class Assets
{
    /// <summary>Every asset keeps one replica in each of three data centers (JetStream's unique_tag "dc:").</summary>
    public const int Replicas = 3;

    /// <summary>
    /// Chats are spread over this many streams so that stream leaders spread over the sites: losing a
    /// site pauses writes only on the shards it led.
    /// </summary>
    public const int ChatShards = 8;

    /// <summary>How long JetStream remembers a Nats-Msg-Id, so a retry within it is stored once.</summary>
    public static readonly TimeSpan DuplicateWindow = TimeSpan.FromMinutes(10);

    /// <summary>Users (user.ID) and the logins that find them (login.KIND.HASH).</summary>
    public const string AccountsBucket = "accounts";

    /// <summary>
    /// The one key ring of every token, rotating signing and encryption keys (keys); the key ring that
    /// protects the login provider's cookies (dataprotection.NAME).
    /// </summary>
    public const string SigningKeysBucket = "signing-keys";

    /// <summary>
    /// Signed-out sessions (revoked.SESSION ID): a token whose session is here is refused. An entry is
    /// forgotten after <see cref="SessionLifetime"/>, when every token of that session has expired anyway.
    /// </summary>
    public const string SessionsBucket = "sessions";

    /// <summary>Friend lists and blocks (friends.USER ID), updated with compare-and-set.</summary>
    public const string SocialBucket = "social";

    /// <summary>Chats (chat.CHAT ID), each user's chats (member.USER ID), read and delivery cursors (cursor.CHAT ID.USER ID).</summary>
    public const string ChatsBucket = "chats";

    public const string MediaStore = "media";

    /// <summary>What the operations console shows on every site: sites lost and back, redundancy lost and back (events).</summary>
    public const string ConsoleBucket = "console";

    /// <summary>The login provider's registered client applications (app.ID, client.CLIENT ID) and scopes (scope.ID, scopename.NAME).</summary>
    public const string LoginClientsBucket = "login-clients";

    /// <summary>Consents and sign-in grants (authz.SUBJECT.ID), kept until revoked or pruned.</summary>
    public const string LoginGrantsBucket = "login-grants";

    /// <summary>Issued codes and tokens (token.AUTHORIZATION.ID), forgotten by the bucket after <see cref="LoginTokenRetention"/>.</summary>
    public const string LoginTokensBucket = "login-tokens";

    /// <summary>Longer than any login token lives (refresh tokens: 14 days), so that an entry outlives its token.</summary>
    public static readonly TimeSpan LoginTokenRetention = TimeSpan.FromDays(15);

    /// <summary>How long a signed-in session lasts; the sessions bucket forgets older ones by itself.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(12);

    public static string ChatStream(int shard) => $"CHAT_{shard:D2}";

    /// <summary>
    /// Subject of one message of a chat: chat.NN.CHAT.SEQ. The chat sequence is part of the subject, so
    /// that "message k of chat c" is one lookup, and a write that expects no earlier message on its
    /// subject can only take a free sequence number.
    /// </summary>
    public static string ChatMessageSubject(string chatId, long sequence) => $"chat.{Shards.Of(chatId, ChatShards):D2}.{chatId}.{sequence}";

    /// <summary>Every message subject of one chat.</summary>
    public static string ChatMessagesFilter(string chatId) => $"chat.{Shards.Of(chatId, ChatShards):D2}.{chatId}.*";

    public static string ChatStreamOf(string chatId) => ChatStream(Shards.Of(chatId, ChatShards));

    /// <summary>Subjects of a chat shard: chat.NN.&lt;chat id&gt;.</summary>
    public static string ChatSubject(int shard, string chatId) => $"chat.{shard:D2}.{chatId}";

    /// <summary>
    /// A membership event of a chat (chat.NN holds the messages, members.NN who joined): it tells the
    /// devices of people added to a chat that they should follow it, without taking a chat sequence.
    /// </summary>
    public static string ChatMembersSubject(string chatId) => $"members.{Shards.Of(chatId, ChatShards):D2}.{chatId}";
}
