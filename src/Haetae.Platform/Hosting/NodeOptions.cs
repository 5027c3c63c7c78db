using Haetae.Platform.Monitoring;

namespace Haetae.Platform.Hosting;

/// <summary>The node's identity. Bound from configuration section "Haetae".</summary>
public sealed class NodeOptions
{
    /// <summary>The data center this node runs in (for example "pangyo"); shown in health and status.</summary>
    public string Site { get; set; } = "";

    /// <summary>
    /// Every site of the platform (this one included): the web app moves between their nodes, and the
    /// console reads their monitoring endpoints. Empty: a single-site view.
    /// </summary>
    public List<SiteSpec> Sites { get; set; } = [];

    /// <summary>The local platform's control socket (set by `haetae up` only): the console then offers fire and rebuild.</summary>
    public string? ControlSocket { get; set; }

    /// <summary>
    /// The key operators' calls (client registration, evacuation) require as a bearer token, at least 32
    /// characters. Empty (the default): every operator's call is refused.
    /// </summary>
    public string AdminKey { get; set; } = "";

    public void Validate()
    {
        if (AdminKey.Length is > 0 and < 32)
        {
            throw new InvalidOperationException("Haetae:AdminKey must be at least 32 characters (or empty to refuse every operator's call).");
        }

        if (string.IsNullOrWhiteSpace(Site))
        {
            throw new InvalidOperationException("Haetae:Site is required (the name of this node's data center).");
        }
    }
}
