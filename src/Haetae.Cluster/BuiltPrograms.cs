using Haetae.Platform.Monitoring;
namespace Haetae.Cluster;

/// <summary>Finds the programs a local platform runs beside its nats-servers, built with it in the artifacts tree.</summary>
public static class BuiltPrograms
{
    /// <summary>Environment variable that names Haetae.Node.dll explicitly (for installs outside the repository).</summary>
    public const string NodeVariable = "HAETAE_NODE_DLL";

    /// <summary>The Haetae node: HAETAE_NODE_DLL if set, else the one built beside this assembly.</summary>
    public static string Node()
    {
        var explicitPath = Environment.GetEnvironmentVariable(NodeVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath)
                ? explicitPath
                : throw new PlatformException($"{NodeVariable} names '{explicitPath}', which does not exist");
        }

        return Beside("Haetae.Node", "Haetae.Node.dll");
    }

    /// <summary>The sample third-party app.</summary>
    public static string Exchange() => Beside("Exchange", "Exchange.dll");

    /// <summary>The sample fleet of scooters.</summary>
    public static string Fleet() => Beside("Fleet", "Fleet.dll");

    /// <summary>The sample bank.</summary>
    public static string Bank() => Beside("Bank", "Bank.dll");

    /// <summary>The filesystem that loses what was not fsynced when a site's power is cut.</summary>
    public static string PowerFs() => Beside("Haetae.PowerFs", "haetae-powerfs.dll");

    /// <summary>
    /// A project's program built beside this assembly in the artifacts tree (artifacts/bin/&lt;project&gt;/&lt;configuration&gt;/),
    /// in the same configuration.
    /// </summary>
    private static string Beside(string project, string assembly)
    {
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var binDirectory = baseDirectory.Parent?.Parent;
        var candidate = binDirectory is null ? null : Path.Combine(binDirectory.FullName, project, baseDirectory.Name, assembly);
        return candidate is not null && File.Exists(candidate)
            ? candidate
            : throw new PlatformException($"{project} is not built (looked for {candidate ?? $"artifacts/bin/{project}"}); run ./haetae, which builds it");
    }
}
