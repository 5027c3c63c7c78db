using System.Globalization;
using System.Text.Json;

namespace Exchange;

/// <summary>
/// The last good provider configuration on disk, so that a restart while every provider site is down still
/// checks tokens. Format (only "discovery" and "jwks" are required, so a file can be written by hand):
/// <code>
/// { "site": "http://127.0.0.11:5001/", "fetchedAt": "2025-01-01T00:00:00+00:00",
///   "discovery": { ...the /.well-known/openid-configuration document... },
///   "jwks": { "keys": [ ... ] } }
/// </code>
/// It holds only public documents (endpoints and public keys), so it needs no protection beyond integrity.
/// </summary>
internal sealed class KeyCacheFile(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>
    /// Writes a temporary file next to the target and renames it over the target: a crash or a full disk
    /// mid-write then leaves the previous good copy, never a truncated file that would hide every key.
    /// </summary>
    public async Task SaveAsync(ProviderSnapshot snapshot, CancellationToken cancel)
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory);
        // Same folder as the target, so that the rename stays on one file system and is atomic.
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(Path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    writer.WriteStartObject();
                    writer.WriteString("site", snapshot.Source);
                    writer.WriteString("fetchedAt", snapshot.FetchedAt.ToString("O", CultureInfo.InvariantCulture));
                    writer.WritePropertyName("discovery");
                    WriteDocument(writer, snapshot.DiscoveryJson);
                    writer.WritePropertyName("jwks");
                    WriteDocument(writer, snapshot.JwksJson);
                    writer.WriteEndObject();
                    await writer.FlushAsync(cancel);
                }

                // On disk before the rename, or a power cut could leave the new name pointing at empty data.
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, Path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Reads the saved configuration back.</summary>
    /// <exception cref="InvalidDataException">The file is missing, unreadable, or not a usable configuration of <paramref name="expectedIssuer"/>; the message says which.</exception>
    public async Task<ProviderSnapshot> LoadAsync(string expectedIssuer, CancellationToken cancel)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(Path, cancel);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidDataException($"the key cache file {Path} does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"the key cache file {Path} cannot be read ({e.Message})", e);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("discovery", out var discovery) || discovery.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("jwks", out var jwks) || jwks.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("it has no \"discovery\" and \"jwks\" objects");
            }

            var fetchedAt = root.TryGetProperty("fetchedAt", out var at) && at.ValueKind == JsonValueKind.String && at.TryGetDateTimeOffset(out var parsed)
                ? parsed
                : new DateTimeOffset(File.GetLastWriteTimeUtc(Path), TimeSpan.Zero);
            var site = root.TryGetProperty("site", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            var source = site is null ? $"file {Path}" : $"file {Path} (saved from {site})";

            return ProviderSnapshot.Create(discovery.GetRawText(), jwks.GetRawText(), expectedIssuer, source, fetchedAt);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"the key cache file {Path} is not usable: {e.Message}", e);
        }
    }

    // Re-parsed rather than written raw so that the file is indented and a document that is not JSON fails here.
    private static void WriteDocument(Utf8JsonWriter writer, string json)
    {
        using var document = JsonDocument.Parse(json);
        document.RootElement.WriteTo(writer);
    }
}
