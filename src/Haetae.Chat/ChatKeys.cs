using Haetae.Platform.Store;

namespace Haetae.Chat;

/// <summary>Chat's keys, each with the type of its value: in the chats bucket, the social bucket and the photo records.</summary>
internal static class ChatKeys
{
    public static Key<ChatRecord> Chat(string chatId) => new($"chat.{chatId}");

    /// <summary>The chats a person is in.</summary>
    public static Key<MemberChats> Member(string userId) => new($"member.{userId}");

    /// <summary>How far a person has received and read a chat.</summary>
    public static Key<Cursor> Cursor(string chatId, string userId) => new($"cursor.{chatId}.{userId}");

    public static Key<FriendList> Friends(string owner) => new($"friends.{owner}");

    public static Key<ProfileSet> Profiles(string owner) => new($"profiles.{owner}");

    public static Key<PhotoRecord> Photo(string photoId) => new($"photo.{photoId}");
}
