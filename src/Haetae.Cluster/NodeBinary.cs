namespace Haetae.Cluster;

/// <summary>Finds the built Haetae.Node that local sites run.</summary>
public static class NodeBinary
{
    /// <summary>Environment variable that names Haetae.Node.dll explicitly (for installs outside the repository).</summary>
    public const string EnvironmentVariable = "HAETAE_NODE_DLL";

    /// <summary>
    /// HAETAE_NODE_DLL if set; otherwise the node built beside this assembly in the artifacts tree
    /// (artifacts/bin/&lt;project&gt;/&lt;configuration&gt;/), in the same configuration.
    /// </summary>
    public static string Locate()
    {
        var explicitPath = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath)
                ? explicitPath
                : throw new PlatformException($"{EnvironmentVariable} names '{explicitPath}', which does not exist");
        }

        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = baseDirectory.Name;
        var binDirectory = baseDirectory.Parent?.Parent;
        var candidate = binDirectory is null ? null : Path.Combine(binDirectory.FullName, "Haetae.Node", configuration, "Haetae.Node.dll");
        return candidate is not null && File.Exists(candidate)
            ? candidate
            : throw new PlatformException($"Haetae.Node is not built (looked for {candidate ?? "artifacts/bin/Haetae.Node"}); run ./haetae, which builds it");
    }
}
