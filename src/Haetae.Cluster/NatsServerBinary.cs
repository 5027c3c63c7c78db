using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>
/// Which nats-server the platform runs. `./haetae` finds or fetches one (Debian testing's package, unpacked
/// under the Haetae home) and names it in HAETAE_NATS_SERVER; without that, the one on PATH. Either way it
/// must be at least <see cref="Minimum"/>: older servers lose acknowledged writes across partitions.
/// </summary>
public static partial class NatsServerBinary
{
    /// <summary>
    /// The oldest server Haetae runs on: the line its partition, compare-and-set and fsync results were
    /// measured on (docs/architecture.md, The engine). 2.9 and 2.10 lack Raft fixes the promises need.
    /// </summary>
    public static readonly Version Minimum = new(2, 15, 0);

    public const string EnvironmentVariable = "HAETAE_NATS_SERVER";

    private static readonly ConcurrentDictionary<string, Version> Checked = new(StringComparer.Ordinal);

    /// <summary>The program to run: HAETAE_NATS_SERVER if set, otherwise "nats-server" on PATH.</summary>
    public static string Locate() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } path ? path : "nats-server";

    /// <summary>The version of <paramref name="program"/>; a one-line error if it does not run or is older than <see cref="Minimum"/>.</summary>
    public static async Task<Version> CheckAsync(string program, CancellationToken cancellationToken)
    {
        if (Checked.TryGetValue(program, out var known))
        {
            return known;
        }

        string output;
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, ["--version"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })
                ?? throw new PlatformException($"{program} did not start");
            output = await process.StandardOutput.ReadToEndAsync(cancellationToken) + await process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PlatformException($"nats-server not found ({program}: {e.Message}); run ./haetae, which fetches nats-server {Minimum.ToString(2)} or newer");
        }

        var version = Parse(output) ?? throw new PlatformException($"{program} printed no nats-server version (\"{output.Trim()}\")");
        if (version < Minimum)
        {
            throw new PlatformException($"nats-server {version} at {program} is too old: Haetae needs {Minimum} or newer (./haetae fetches one)");
        }

        Checked[program] = version;
        return version;
    }

    /// <summary>The version in "nats-server: v2.15.1" (what --version prints), or null.</summary>
    public static Version? Parse(string versionOutput) =>
        VersionLine().Match(versionOutput) is { Success: true } m ? Version.Parse(m.Groups["version"].Value) : null;

    [GeneratedRegex(@"nats-server: v?(?<version>\d+\.\d+\.\d+)")]
    private static partial Regex VersionLine();
}
