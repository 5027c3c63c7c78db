using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;

namespace Haetae.Chat;

/// <summary>Who may see a photo: its owner, and the members of the chats it was sent to (photo.ID in the chats bucket).</summary>
internal sealed record PhotoRecord(string Id, string Owner, string ContentType, long Size, IReadOnlyList<string> Chats);

/// <summary>
/// Photos in the replicated object store, readable only by their owner, the members of chats they were sent
/// to, and whoever the owner shows them to as a profile photo.
/// </summary>
internal sealed class Photos(INatsJSContext js, Buckets buckets, Func<Chats> chats, Func<Profiles> profiles)
{
    public const long MaxBytes = 10 * 1024 * 1024;

    public static readonly IReadOnlySet<string> ContentTypes = new HashSet<string> { "image/jpeg", "image/png", "image/gif", "image/webp" };

    private readonly NatsObjContext _objects = new(js);

    public async Task<PhotoView> UploadAsync(string owner, string? contentType, Stream body, string requestId, CancellationToken cancellationToken)
    {
        var type = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (type is null || !ContentTypes.Contains(type))
        {
            throw new ApiProblem(415, "Unsupported photo type", $"Content-Type must be one of {string.Join(", ", ContentTypes)}");
        }

        var bytes = await ReadBoundedAsync(body, cancellationToken);
        if (bytes.Length == 0)
        {
            throw ApiProblem.BadRequest("the photo is empty");
        }

        var id = RequestIds.Derive("p", 20, owner, requestId);
        var records = await buckets.GetAsync(Assets.ChatsBucket);
        if ((await records.TryGetAsync(ChatKeys.Photo(id), cancellationToken))?.Value is { } earlier)
        {
            // A retry: the first upload is the photo, whatever this one carries.
            return new PhotoView(earlier.Id, earlier.ContentType, earlier.Size);
        }

        var store = await _objects.GetObjectStoreAsync(Assets.MediaStore, cancellationToken);
        await store.PutAsync(new ObjectMetadata { Name = id }, new MemoryStream(bytes), cancellationToken: cancellationToken);
        await records.UpdateAsync(ChatKeys.Photo(id), current =>
            current ?? new PhotoRecord(id, owner, type, bytes.Length, []), cancellationToken);
        return new PhotoView(id, type, bytes.Length);
    }

    /// <summary>Lets the members of <paramref name="chatId"/> see the photo; only its owner may share it.</summary>
    public async Task ShareAsync(string caller, string photoId, string chatId, CancellationToken cancellationToken)
    {
        var records = await buckets.GetAsync(Assets.ChatsBucket);
        var photo = IsPhotoId(photoId) ? (await records.TryGetAsync(ChatKeys.Photo(photoId), cancellationToken))?.Value : null;
        if (photo is null || photo.Owner != caller)
        {
            throw ApiProblem.NotFound("no such photo");
        }

        if (!photo.Chats.Contains(chatId))
        {
            await records.UpdateAsync(ChatKeys.Photo(photoId), current => current! with { Chats = [.. current.Chats.Append(chatId).Distinct()] }, cancellationToken);
        }
    }

    public async Task<(PhotoRecord Photo, byte[] Bytes)> GetAsync(string caller, string photoId, CancellationToken cancellationToken)
    {
        var records = await buckets.GetAsync(Assets.ChatsBucket);
        var photo = IsPhotoId(photoId) ? (await records.TryGetAsync(ChatKeys.Photo(photoId), cancellationToken))?.Value : null;
        if (photo is null || !await MayViewAsync(caller, photo, cancellationToken))
        {
            throw ApiProblem.NotFound("no such photo");
        }

        var store = await _objects.GetObjectStoreAsync(Assets.MediaStore, cancellationToken);
        return (photo, await store.GetBytesAsync(photoId, cancellationToken));
    }

    /// <summary>True if <paramref name="photoId"/> names a photo <paramref name="owner"/> uploaded.</summary>
    public async Task<bool> IsOwnedByAsync(string owner, string photoId, CancellationToken cancellationToken)
    {
        var records = await buckets.GetAsync(Assets.ChatsBucket);
        return IsPhotoId(photoId) && (await records.TryGetAsync(ChatKeys.Photo(photoId), cancellationToken))?.Value.Owner == owner;
    }

    private async Task<bool> MayViewAsync(string caller, PhotoRecord photo, CancellationToken cancellationToken)
    {
        if (photo.Owner == caller || (await profiles().ViewAsync(photo.Owner, caller, cancellationToken))?.PhotoId == photo.Id)
        {
            return true;
        }

        foreach (var chatId in photo.Chats)
        {
            if (await chats().IsMemberAsync(caller, chatId, cancellationToken))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<byte[]> ReadBoundedAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                throw new ApiProblem(413, "Photo too large", $"a photo is at most {MaxBytes / (1024 * 1024)} MiB");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    internal static bool IsPhotoId(string? id) => id is { Length: 21 } && id[0] == 'p' && id.Skip(1).All(char.IsAsciiHexDigitLower);
}
