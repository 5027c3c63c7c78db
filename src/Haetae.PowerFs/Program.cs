using System.Runtime.InteropServices;
using Haetae.PowerFs;

// haetae-powerfs BACKING MOUNTPOINT: a site's disk as a power cut sees it. Everything written to MOUNTPOINT is
// in BACKING at once. SIGUSR1 is the power going: every change a file's last fsync did not cover is undone,
// every later operation fails with EIO, "power cut: FILES files, BYTES bytes undone" is printed, and the
// process exits at once (auto_unmount takes the mount away). SIGTERM, or fusermount3 -u, is a clean stop.
if (args.Length != 2 || !Directory.Exists(args[0]) || !Directory.Exists(args[1]))
{
    Console.Error.WriteLine("usage: haetae-powerfs BACKING-FOLDER MOUNT-POINT (both folders must exist)");
    return 2;
}

var files = new BackingFiles(Path.GetFullPath(args[0]).TrimEnd('/'));
var writes = new UnsyncedWrites(files);
const int SigUsr1 = 10;
using var power = PosixSignalRegistration.Create((PosixSignal)SigUsr1, context =>
{
    context.Cancel = true;
    var (count, bytes) = writes.CutPower();
    Console.Out.WriteLine($"power cut: {count} files, {bytes} bytes undone");
    Console.Out.Flush();
    // No goodbye: libfuse's threads are left where they are, as the power leaves them.
    Libc.Exit(0);
});

return Fuse.Run(files, writes, Path.GetFullPath(args[1]), () =>
{
    Console.Out.WriteLine("mounted");
    Console.Out.Flush();
});
