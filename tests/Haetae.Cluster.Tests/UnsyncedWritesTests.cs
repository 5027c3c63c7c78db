using Haetae.PowerFs;

namespace Haetae.Cluster.Tests;

/// <summary>What a power cut leaves of a site's files: exactly what each file's last fsync covered (real files, no mount).</summary>
public sealed class UnsyncedWritesTests : IDisposable
{
    /// <summary>EIO, as the operations answer it (negated).</summary>
    private const int EIo = 5;

    private readonly string _root = Directory.CreateTempSubdirectory("haetae-powerfs-").FullName;
    private readonly BackingFiles _files;
    private readonly UnsyncedWrites _writes;

    public UnsyncedWritesTests()
    {
        _files = new BackingFiles(_root);
        _writes = new UnsyncedWrites(_files);
    }

    [Fact]
    public void A_cut_keeps_what_the_last_fsync_covered_and_nothing_written_after_it()
    {
        var fd = Create("/log");
        Write("/log", fd, Fill('A', 1000), 0);
        Assert.Equal(0, _writes.Sync("/log", fd, dataOnly: true));
        Write("/log", fd, Fill('B', 500), 1000);
        _files.Close(fd);

        var (files, _) = _writes.CutPower();

        Assert.Equal(1, files);
        Assert.Equal(Fill('A', 1000), Stored("/log"));
    }

    [Fact]
    public void Overwrites_and_truncations_after_a_sync_are_undone_newest_first()
    {
        var fd = Create("/block");
        Write("/block", fd, Fill('x', 100), 0);
        _writes.Sync("/block", fd, dataOnly: false);
        Write("/block", fd, "YYYY"u8.ToArray(), 10);
        Assert.Equal(0, _writes.Truncate("/block", 20));
        Write("/block", fd, Fill('z', 50), 15);
        _files.Close(fd);

        _writes.CutPower();

        Assert.Equal(Fill('x', 100), Stored("/block"));
    }

    [Fact]
    public void A_file_never_synced_is_left_empty_and_one_synced_twice_keeps_the_second_sync()
    {
        var never = Create("/never");
        Write("/never", never, Fill('n', 4096), 0);
        var twice = Create("/twice");
        Write("/twice", twice, Fill('1', 10), 0);
        _writes.Sync("/twice", twice, dataOnly: true);
        Write("/twice", twice, Fill('2', 10), 10);
        _writes.Sync("/twice", twice, dataOnly: true);
        Write("/twice", twice, Fill('3', 10), 20);
        _files.Close(never);
        _files.Close(twice);

        _writes.CutPower();

        Assert.Empty(Stored("/never"));
        Assert.Equal([.. Fill('1', 10), .. Fill('2', 10)], Stored("/twice"));
    }

    [Fact]
    public void A_renamed_file_takes_its_unsynced_changes_with_it_and_a_removed_one_forgets_them()
    {
        Directory.CreateDirectory(Path.Combine(_root, "dir"));
        var fd = Create("/dir/a.tmp");
        Write("/dir/a.tmp", fd, Fill('q', 10), 0);
        _writes.Sync("/dir/a.tmp", fd, dataOnly: true);
        Write("/dir/a.tmp", fd, Fill('r', 10), 10);
        _files.Close(fd);
        File.Move(Path.Combine(_root, "dir/a.tmp"), Path.Combine(_root, "dir/a"));
        _writes.Renamed("/dir/a.tmp", "/dir/a");
        Directory.Move(Path.Combine(_root, "dir"), Path.Combine(_root, "moved"));
        _writes.Renamed("/dir", "/moved");
        var gone = Create("/gone");
        Write("/gone", gone, Fill('g', 10), 0);
        _files.Close(gone);
        File.Delete(Path.Combine(_root, "gone"));
        _writes.Removed("/gone");

        var (files, _) = _writes.CutPower();

        // The second rename named the folder; the file inside it moved with it.
        Assert.Equal(1, files);
        Assert.Equal(Fill('q', 10), File.ReadAllBytes(Path.Combine(_root, "moved/a")));
    }

    [Fact]
    public void An_append_lands_at_the_end_whatever_offset_it_names_and_is_undone_from_there()
    {
        var fd = Create("/append");
        Write("/append", fd, Fill('a', 10), 0);
        _writes.Sync("/append", fd, dataOnly: true);
        Assert.Equal(5, _writes.Write("/append", fd, Fill('b', 5), 0, append: true));
        Assert.Equal([.. Fill('a', 10), .. Fill('b', 5)], Stored("/append"));
        _files.Close(fd);

        _writes.CutPower();

        Assert.Equal(Fill('a', 10), Stored("/append"));
    }

    [Fact]
    public void After_the_cut_nothing_reaches_the_disk()
    {
        var fd = Create("/late");
        Write("/late", fd, Fill('a', 10), 0);
        _writes.Sync("/late", fd, dataOnly: true);

        _writes.CutPower();

        Assert.True(_writes.PowerGone);
        Assert.Equal(-EIo, _writes.Write("/late", fd, Fill('b', 5), 10, append: false));
        Assert.Equal(-EIo, _writes.Truncate("/late", 0));
        Assert.Equal(-EIo, _writes.Sync("/late", fd, dataOnly: false));
        _files.Close(fd);
        Assert.Equal(Fill('a', 10), Stored("/late"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private int Create(string path)
    {
        File.WriteAllBytes(_root + path, []);
        var fd = _files.Open(path, writable: true);
        Assert.True(fd >= 0, $"open {path}: errno {-fd}");
        return fd;
    }

    private void Write(string path, int fd, byte[] data, long offset) =>
        Assert.Equal(data.Length, _writes.Write(path, fd, data, offset, append: false));

    private byte[] Stored(string path) => File.ReadAllBytes(_root + path);

    private static byte[] Fill(char c, int count) => Enumerable.Repeat((byte)c, count).ToArray();
}
