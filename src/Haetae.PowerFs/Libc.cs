using System.Runtime.InteropServices;

namespace Haetae.PowerFs;

/// <summary>The C library calls the filesystem passes through to its backing folder; each returns -errno on failure.</summary>
internal static unsafe partial class Libc
{
    public const int ORdOnly = 0;
    public const int OWrOnly = 1;
    public const int ORdWr = 2;
    public const int OAccMode = 3;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int OTrunc = 0x200;
    public const int OAppend = 0x400;
    public const int OCloExec = 0x80000;
    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int EInval = 22;
    public const int EIo = 5;

    /// <summary>Room for glibc's struct stat (144 bytes on x86-64, 128 on arm64); only st_size is read here, at offset 48 on both.</summary>
    public const int StatBufferSize = 256;
    public const int StatSizeOffset = 48;

    private static int Result(int value) => value < 0 ? -Marshal.GetLastPInvokeError() : value;

    private static long Result(long value) => value < 0 ? -Marshal.GetLastPInvokeError() : value;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags, uint mode);

    public static int Open(string path, int flags, uint mode) => Result(NativeOpen(path, flags | OCloExec, mode));

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);

    public static int Close(int fd) => Result(NativeClose(fd));

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint NativePread(int fd, byte* buffer, nuint count, long offset);

    public static long Pread(int fd, byte* buffer, nuint count, long offset) => Result((long)NativePread(fd, buffer, count, offset));

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint NativePwrite(int fd, byte* buffer, nuint count, long offset);

    public static long Pwrite(int fd, byte* buffer, nuint count, long offset) => Result((long)NativePwrite(fd, buffer, count, offset));

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int NativeFsync(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int NativeFdatasync(int fd);

    public static int Fsync(int fd, bool dataOnly) => Result(dataOnly ? NativeFdatasync(fd) : NativeFsync(fd));

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int NativeFtruncate(int fd, long length);

    public static int Ftruncate(int fd, long length) => Result(NativeFtruncate(fd, length));

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeLstat(string path, void* stat);

    public static int Lstat(string path, void* stat) => Result(NativeLstat(path, stat));

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int NativeFstat(int fd, void* stat);

    public static int Fstat(int fd, void* stat) => Result(NativeFstat(fd, stat));

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeMkdir(string path, uint mode);

    public static int Mkdir(string path, uint mode) => Result(NativeMkdir(path, mode));

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeRmdir(string path);

    public static int Rmdir(string path) => Result(NativeRmdir(path));

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeUnlink(string path);

    public static int Unlink(string path) => Result(NativeUnlink(path));

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeRename(string from, string to);

    public static int Rename(string from, string to) => Result(NativeRename(from, to));

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeChmod(string path, uint mode);

    public static int Chmod(string path, uint mode) => Result(NativeChmod(path, mode));

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeLchown(string path, uint uid, uint gid);

    public static int Lchown(string path, uint uid, uint gid) => Result(NativeLchown(path, uid, gid));

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeStatvfs(string path, void* buffer);

    public static int Statvfs(string path, void* buffer) => Result(NativeStatvfs(path, buffer));

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeUtimensat(int dirfd, string path, void* times, int flags);

    public static int Utimensat(string path, void* times) => Result(NativeUtimensat(AtFdCwd, path, times, AtSymlinkNoFollow));

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeAccess(string path, int mode);

    public static int Access(string path, int mode) => Result(NativeAccess(path, mode));

    /// <summary>_exit(2): the process ends at once, with no clean-up of any kind.</summary>
    [LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void Exit(int status);
}
