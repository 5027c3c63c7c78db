namespace Haetae.PowerFs;

/// <summary><see cref="IFileAccess"/> on a backing folder, through the C library (paths are the mount's, "/a/b").</summary>
public sealed unsafe class BackingFiles(string root) : IFileAccess
{
    public string PathOf(string path) => root + path;

    public int Open(string path, bool writable) => Libc.Open(PathOf(path), writable ? Libc.ORdWr : Libc.ORdOnly, 0);

    public void Close(int fd) => Libc.Close(fd);

    public long Size(int fd)
    {
        var stat = stackalloc byte[Libc.StatBufferSize];
        var result = Libc.Fstat(fd, stat);
        return result < 0 ? result : *(long*)(stat + Libc.StatSizeOffset);
    }

    public int ReadAt(int fd, Span<byte> buffer, long offset)
    {
        fixed (byte* start = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var read = Libc.Pread(fd, start + done, (nuint)(buffer.Length - done), offset + done);
                if (read < 0)
                {
                    return (int)read;
                }

                if (read == 0)
                {
                    // The file is shorter than asked: what is beyond its end reads as nothing to restore.
                    buffer[done..].Clear();
                    break;
                }

                done += (int)read;
            }

            return buffer.Length;
        }
    }

    public int WriteAt(int fd, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* start = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var written = Libc.Pwrite(fd, start + done, (nuint)(data.Length - done), offset + done);
                if (written < 0)
                {
                    return done > 0 ? done : (int)written;
                }

                done += (int)written;
            }

            return done;
        }
    }

    public int Resize(int fd, long length) => Libc.Ftruncate(fd, length);

    public int Sync(int fd, bool dataOnly) => Libc.Fsync(fd, dataOnly);
}
