namespace Haetae.PowerFs;

/// <summary>
/// What a power cut takes away: every change to a file's data since that file was last fsynced. Writes
/// and truncations go through to the backing file at once (reads need no cache of their own), and each
/// keeps what it replaced (the bytes it overwrote within the file's size at that moment, and that size).
/// An fsync forgets the changes made before it began; <see cref="CutPower"/> undoes the rest, newest
/// first, which leaves every file exactly as its last fsync left it. What the directory holds (files
/// created, renamed, removed) is kept, as a journalling filesystem keeps its metadata.
/// </summary>
public sealed class UnsyncedWrites(IFileAccess files)
{
    private sealed record Change(long Offset, byte[] Replaced, long SizeBefore);

    private sealed class FileChanges
    {
        public readonly List<Change> Changes = [];
    }

    private readonly Dictionary<string, FileChanges> _files = new(StringComparer.Ordinal);

    /// <summary>Renames and the power cut take it exclusively; changes to one file take it shared and lock that file.</summary>
    private readonly ReaderWriterLockSlim _names = new(LockRecursionPolicy.NoRecursion);

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> of the open file <paramref name="fd"/> (at its end when <paramref name="append"/>).</summary>
    public int Write(string path, int fd, ReadOnlySpan<byte> data, long offset, bool append)
    {
        _names.EnterReadLock();
        try
        {
            if (PowerGone)
            {
                return -Libc.EIo;
            }

            var changes = ChangesOf(path);
            lock (changes)
            {
                var size = files.Size(fd);
                if (size < 0)
                {
                    return (int)size;
                }

                var at = append ? size : offset;
                var replaced = new byte[Math.Max(0, Math.Min(size, at + data.Length) - at)];
                if (replaced.Length > 0 && files.ReadAt(fd, replaced, at) is var read and < 0)
                {
                    return read;
                }

                var written = files.WriteAt(fd, data, at);
                if (written > 0)
                {
                    changes.Changes.Add(new Change(at, replaced, size));
                }

                return written;
            }
        }
        finally
        {
            _names.ExitReadLock();
        }
    }

    /// <summary>Sets the size of the file at <paramref name="path"/>, keeping what a shrink cuts off.</summary>
    public int Truncate(string path, long length)
    {
        _names.EnterReadLock();
        try
        {
            if (PowerGone)
            {
                return -Libc.EIo;
            }

            var changes = ChangesOf(path);
            lock (changes)
            {
                var fd = files.Open(path, writable: true);
                if (fd < 0)
                {
                    return fd;
                }

                try
                {
                    var size = files.Size(fd);
                    if (size < 0)
                    {
                        return (int)size;
                    }

                    var replaced = new byte[Math.Max(0, size - length)];
                    if (replaced.Length > 0 && files.ReadAt(fd, replaced, length) is var read and < 0)
                    {
                        return read;
                    }

                    var result = files.Resize(fd, length);
                    if (result == 0 && size != length)
                    {
                        changes.Changes.Add(new Change(length, replaced, size));
                    }

                    return result;
                }
                finally
                {
                    files.Close(fd);
                }
            }
        }
        finally
        {
            _names.ExitReadLock();
        }
    }

    /// <summary>Syncs the open file <paramref name="fd"/>; what was changed before the sync began is safe from a power cut.</summary>
    public int Sync(string path, int fd, bool dataOnly)
    {
        _names.EnterReadLock();
        try
        {
            if (PowerGone)
            {
                return -Libc.EIo;
            }

            var changes = ChangesOf(path);
            int before;
            lock (changes)
            {
                before = changes.Changes.Count;
            }

            var result = files.Sync(fd, dataOnly);
            if (result == 0)
            {
                lock (changes)
                {
                    // Each change is kept relative to the one before it, so forgetting the oldest ones
                    // leaves the rest undoing exactly back to the synced state.
                    changes.Changes.RemoveRange(0, Math.Min(before, changes.Changes.Count));
                }
            }

            return result;
        }
        finally
        {
            _names.ExitReadLock();
        }
    }

    /// <summary>A file (or a folder and everything under it) now has another name.</summary>
    public void Renamed(string from, string to)
    {
        _names.EnterWriteLock();
        try
        {
            Forget(to);
            foreach (var (path, changes) in _files.Where(f => IsAtOrUnder(f.Key, from)).ToList())
            {
                _files.Remove(path);
                _files[to + path[from.Length..]] = changes;
            }
        }
        finally
        {
            _names.ExitWriteLock();
        }
    }

    /// <summary>A file (or a folder) is gone, with whatever it had not synced.</summary>
    public void Removed(string path)
    {
        _names.EnterWriteLock();
        try
        {
            Forget(path);
        }
        finally
        {
            _names.ExitWriteLock();
        }
    }

    /// <summary>Set by <see cref="CutPower"/>: from then on nothing reaches the disk.</summary>
    public bool PowerGone { get; private set; }

    /// <summary>
    /// The power goes: every file is put back as its last fsync left it, and every later change is refused
    /// (<see cref="PowerGone"/>). Returns the files and bytes undone.
    /// </summary>
    public (int Files, long Bytes) CutPower()
    {
        _names.EnterWriteLock();
        try
        {
            PowerGone = true;
            var (count, bytes) = (0, 0L);
            foreach (var (path, changes) in _files)
            {
                if (changes.Changes.Count == 0)
                {
                    continue;
                }

                var fd = files.Open(path, writable: true);
                if (fd < 0)
                {
                    continue;
                }

                try
                {
                    for (var i = changes.Changes.Count - 1; i >= 0; i--)
                    {
                        var change = changes.Changes[i];
                        var size = files.Size(fd);
                        bytes += Math.Max(0, size - change.SizeBefore) + change.Replaced.Length;
                        if (size < change.SizeBefore)
                        {
                            files.Resize(fd, change.SizeBefore);
                        }

                        if (change.Replaced.Length > 0)
                        {
                            files.WriteAt(fd, change.Replaced, change.Offset);
                        }

                        files.Resize(fd, change.SizeBefore);
                    }

                    files.Sync(fd, dataOnly: false);
                    count++;
                }
                finally
                {
                    files.Close(fd);
                }
            }

            _files.Clear();
            return (count, bytes);
        }
        finally
        {
            _names.ExitWriteLock();
        }
    }

    private FileChanges ChangesOf(string path)
    {
        lock (_files)
        {
            if (!_files.TryGetValue(path, out var changes))
            {
                _files[path] = changes = new FileChanges();
            }

            return changes;
        }
    }

    private void Forget(string path)
    {
        foreach (var key in _files.Keys.Where(k => IsAtOrUnder(k, path)).ToList())
        {
            _files.Remove(key);
        }
    }

    private static bool IsAtOrUnder(string path, string root) =>
        path == root || (path.StartsWith(root, StringComparison.Ordinal) && path.Length > root.Length && path[root.Length] == '/');
}

/// <summary>The few file operations <see cref="UnsyncedWrites"/> needs, on open file descriptors; negative results are -errno.</summary>
public interface IFileAccess
{
    int Open(string path, bool writable);

    void Close(int fd);

    long Size(int fd);

    int ReadAt(int fd, Span<byte> buffer, long offset);

    int WriteAt(int fd, ReadOnlySpan<byte> data, long offset);

    int Resize(int fd, long length);

    int Sync(int fd, bool dataOnly);
}
