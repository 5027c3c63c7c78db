using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Haetae.PowerFs;

/// <summary>
/// The filesystem as libfuse 3 sees it: its high-level operations table (struct fuse_operations), each entry
/// a static function that passes the call through to the backing folder, data changes through
/// <see cref="UnsyncedWrites"/>. Directory changes go straight through. Every entry answers -errno, never
/// throws: an exception cannot cross into C.
/// </summary>
internal static unsafe partial class Fuse
{
    /// <summary>Entries of struct fuse_operations in libfuse 3.14 (getattr ... lseek); libfuse is told the size.</summary>
    private const int Operations = 42;

    private const int FileInfoFlagsOffset = 0;
    private const int FileInfoHandleOffset = 16;

    /// <summary>Set in a handle when the file was opened to append: its writes land at its end, whatever offset the kernel names.</summary>
    private const ulong AppendBit = 1UL << 40;

    private static BackingFiles _files = null!;
    private static UnsyncedWrites _writes = null!;

    [LibraryImport("libfuse3.so.3", EntryPoint = "fuse_main_real")]
    private static partial int FuseMainReal(int argc, nint* argv, void* operations, nuint size, void* userData);

    /// <summary>Mounts at <paramref name="mountPoint"/> and serves until unmounted; returns libfuse's exit code.</summary>
    public static int Run(BackingFiles files, UnsyncedWrites writes, string mountPoint, Action mounted)
    {
        (_files, _writes, _mounted) = (files, writes, mounted);
        var table = (nint*)NativeMemory.AllocZeroed(Operations, (nuint)sizeof(nint));
        table[0] = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, void*, int>)&GetAttr;
        table[3] = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, int>)&MakeDirectory;
        table[4] = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&Unlink;
        table[5] = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&RemoveDirectory;
        table[7] = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, uint, int>)&Rename;
        table[9] = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, void*, int>)&ChangeMode;
        table[10] = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, uint, void*, int>)&ChangeOwner;
        table[11] = (nint)(delegate* unmanaged[Cdecl]<byte*, long, void*, int>)&Truncate;
        table[12] = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, int>)&Open;
        table[13] = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, nuint, long, void*, int>)&Read;
        table[14] = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, nuint, long, void*, int>)&Write;
        table[15] = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, int>)&StatFs;
        table[16] = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, int>)&Flush;
        table[17] = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, int>)&Release;
        table[18] = (nint)(delegate* unmanaged[Cdecl]<byte*, int, void*, int>)&Sync;
        table[24] = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, void*, long, void*, int, int>)&ReadDirectory;
        table[26] = (nint)(delegate* unmanaged[Cdecl]<byte*, int, void*, int>)&SyncDirectory;
        table[27] = (nint)(delegate* unmanaged[Cdecl]<void*, void*, void*>)&Init;
        table[29] = (nint)(delegate* unmanaged[Cdecl]<byte*, int, int>)&Access;
        table[30] = (nint)(delegate* unmanaged[Cdecl]<byte*, uint, void*, int>)&Create;
        table[32] = (nint)(delegate* unmanaged[Cdecl]<byte*, void*, void*, int>)&SetTimes;

        // Foreground, one thread per request as libfuse likes; auto_unmount lets fusermount3 unmount if this process dies.
        string[] args = ["haetae-powerfs", mountPoint, "-f", "-o", "fsname=haetae-powerfs,subtype=haetae,auto_unmount,max_threads=16"];
        var argv = stackalloc nint[args.Length + 1];
        for (var i = 0; i < args.Length; i++)
        {
            argv[i] = Marshal.StringToCoTaskMemUTF8(args[i]);
        }

        try
        {
            return FuseMainReal(args.Length, argv, table, (nuint)(Operations * sizeof(nint)), null);
        }
        finally
        {
            for (var i = 0; i < args.Length; i++)
            {
                Marshal.FreeCoTaskMem(argv[i]);
            }

            NativeMemory.Free(table);
        }
    }

    private static Action _mounted = () => { };

    private static string PathOf(byte* path) => Marshal.PtrToStringUTF8((nint)path) ?? "/";

    /// <summary>
    /// Runs a call that takes no pointers; what it throws (nothing may cross into C) answers EIO, and so does
    /// every call once the power is gone.
    /// </summary>
    private static int Guard(Func<int> call)
    {
        if (_writes.PowerGone)
        {
            // The disk has no power: nothing reaches it any more, and nothing is read from it.
            return -Libc.EIo;
        }

        try
        {
            return call();
        }
        catch (Exception e) when (Failed(e))
        {
            return -Libc.EIo;
        }
    }

    /// <summary>Logs what no call may throw into C; the call answers EIO.</summary>
    private static bool Failed(Exception e)
    {
        Console.Error.WriteLine($"haetae-powerfs: {e.GetType().Name}: {e.Message}");
        return e is not OutOfMemoryException;
    }

    private static ref int Flags(void* info) => ref Unsafe.AsRef<int>((byte*)info + FileInfoFlagsOffset);

    private static ref ulong Handle(void* info) => ref Unsafe.AsRef<ulong>((byte*)info + FileInfoHandleOffset);

    private static int Descriptor(void* info) => (int)(Handle(info) & 0xFFFFFFFF);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void* Init(void* connection, void* config)
    {
        _mounted();
        return null;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int GetAttr(byte* path, void* stat, void* info)
    {
        var p = PathOf(path);
        return Guard(() => info is not null ? Libc.Fstat(Descriptor(info), stat) : Libc.Lstat(_files.PathOf(p), stat));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int MakeDirectory(byte* path, uint mode)
    {
        var p = PathOf(path);
        return Guard(() => Libc.Mkdir(_files.PathOf(p), mode));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unlink(byte* path)
    {
        var p = PathOf(path);
        return Guard(() =>
        {
            var result = Libc.Unlink(_files.PathOf(p));
            if (result == 0)
            {
                _writes.Removed(p);
            }

            return result;
        });
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int RemoveDirectory(byte* path)
    {
        var p = PathOf(path);
        return Guard(() =>
        {
            var result = Libc.Rmdir(_files.PathOf(p));
            if (result == 0)
            {
                _writes.Removed(p);
            }

            return result;
        });
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Rename(byte* from, byte* to, uint flags)
    {
        var (f, t) = (PathOf(from), PathOf(to));
        return Guard(() =>
        {
            if (flags != 0)
            {
                // RENAME_NOREPLACE and RENAME_EXCHANGE: callers fall back to a plain rename.
                return -Libc.EInval;
            }

            var result = Libc.Rename(_files.PathOf(f), _files.PathOf(t));
            if (result == 0)
            {
                _writes.Renamed(f, t);
            }

            return result;
        });
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ChangeMode(byte* path, uint mode, void* info)
    {
        var p = PathOf(path);
        return Guard(() => Libc.Chmod(_files.PathOf(p), mode));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ChangeOwner(byte* path, uint uid, uint gid, void* info)
    {
        var p = PathOf(path);
        return Guard(() => Libc.Lchown(_files.PathOf(p), uid, gid));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Truncate(byte* path, long length, void* info)
    {
        var p = PathOf(path);
        return Guard(() => _writes.Truncate(p, length));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Open(byte* path, void* info)
    {
        var p = PathOf(path);
        if (_writes.PowerGone)
        {
            return -Libc.EIo;
        }

        var flags = Flags(info);
        var handle = Libc.Open(_files.PathOf(p), flags & ~(Libc.OCreat | Libc.OExcl | Libc.OTrunc), 0);
        if (handle >= 0)
        {
            Handle(info) = (uint)handle | ((flags & Libc.OAppend) != 0 ? AppendBit : 0);
            return 0;
        }

        return handle;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Create(byte* path, uint mode, void* info)
    {
        var p = PathOf(path);
        if (_writes.PowerGone)
        {
            return -Libc.EIo;
        }

        var flags = Flags(info);
        var handle = Libc.Open(_files.PathOf(p), (flags & ~Libc.OTrunc) | Libc.OCreat, mode);
        if (handle >= 0)
        {
            Handle(info) = (uint)handle | ((flags & Libc.OAppend) != 0 ? AppendBit : 0);
            return (flags & Libc.OTrunc) != 0 ? _writes.Truncate(p, 0) : 0;
        }

        return handle;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Read(byte* path, byte* buffer, nuint size, long offset, void* info)
    {
        var fd = Descriptor(info);
        return Guard(() => (int)Libc.Pread(fd, buffer, size, offset));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Write(byte* path, byte* buffer, nuint size, long offset, void* info)
    {
        var p = PathOf(path);
        var (fd, append) = (Descriptor(info), (Handle(info) & AppendBit) != 0);
        return Guard(() => _writes.Write(p, fd, new ReadOnlySpan<byte>(buffer, (int)size), offset, append));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int StatFs(byte* path, void* buffer)
    {
        var p = PathOf(path);
        return Guard(() => Libc.Statvfs(_files.PathOf(p), buffer));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Flush(byte* path, void* info) => 0;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Release(byte* path, void* info)
    {
        var fd = Descriptor(info);
        return Guard(() => Libc.Close(fd));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Sync(byte* path, int dataOnly, void* info)
    {
        var p = PathOf(path);
        var fd = Descriptor(info);
        return Guard(() => _writes.Sync(p, fd, dataOnly != 0));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SyncDirectory(byte* path, int dataOnly, void* info) => 0;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ReadDirectory(byte* path, void* buffer, void* filler, long offset, void* info, int flags)
    {
        var p = PathOf(path);
        var fill = (delegate* unmanaged[Cdecl]<void*, byte*, void*, long, int, int>)filler;
        try
        {
            foreach (var name in (string[])[".", "..", .. Directory.EnumerateFileSystemEntries(_files.PathOf(p)).Select(Path.GetFileName)!])
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
                fixed (byte* n = bytes)
                {
                    if (fill(buffer, n, null, 0, 0) != 0)
                    {
                        break;
                    }
                }
            }

            return 0;
        }
        catch (DirectoryNotFoundException)
        {
            return -2;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"haetae-powerfs: {e.GetType().Name}: {e.Message}");
            return -Libc.EIo;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Access(byte* path, int mode)
    {
        var p = PathOf(path);
        return Guard(() => Libc.Access(_files.PathOf(p), mode));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SetTimes(byte* path, void* times, void* info)
    {
        var p = PathOf(path);
        return Guard(() => Libc.Utimensat(_files.PathOf(p), times));
    }
}
