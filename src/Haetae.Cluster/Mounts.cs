namespace Haetae.Cluster;

/// <summary>The kernel's table of mounted filesystems, as this process sees it.</summary>
internal static class Mounts
{
    /// <summary>Whether something is mounted at <paramref name="path"/> (the fifth field of /proc/self/mountinfo).</summary>
    public static bool IsMounted(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        return File.ReadLines("/proc/self/mountinfo").Any(line => line.Split(' ') is { Length: > 4 } fields && Unescape(fields[4]) == full);
    }

    /// <summary>mountinfo writes a space, tab, newline and backslash in a path as an octal escape (\040 and so on).</summary>
    private static string Unescape(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}
