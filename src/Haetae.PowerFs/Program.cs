using Haetae.PowerFs;

// haetae-powerfs BACKING MOUNTPOINT: a site's disk as a power cut sees it. Everything written to MOUNTPOINT is
// in BACKING at once; a line "cut" on standard input is the power going: every change a file's last fsync
// did not cover is undone, and "cut FILES BYTES" is answered. Unmount (fusermount3 -u) to stop it.
if (args.Length != 2 || !Directory.Exists(args[0]) || !Directory.Exists(args[1]))
{
    Console.Error.WriteLine("usage: haetae-powerfs BACKING-FOLDER MOUNT-POINT (both folders must exist)");
    return 2;
}

var files = new BackingFiles(Path.GetFullPath(args[0]).TrimEnd('/'));
var writes = new UnsyncedWrites(files);
var control = new Thread(() =>
{
    while (Console.In.ReadLine() is { } line)
    {
        if (line.Trim() == "cut")
        {
            var (count, bytes) = writes.CutPower();
            Console.Out.WriteLine($"cut {count} {bytes}");
            Console.Out.Flush();
        }
    }
})
{ IsBackground = true, Name = "power" };
control.Start();

return Fuse.Run(files, writes, Path.GetFullPath(args[1]), () =>
{
    Console.Out.WriteLine("mounted");
    Console.Out.Flush();
});
