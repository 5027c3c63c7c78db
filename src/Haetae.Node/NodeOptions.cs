namespace Haetae.Node;

/// <summary>The node's identity. Bound from configuration section "Haetae".</summary>
internal sealed class NodeOptions
{
    /// <summary>The data center this node runs in (for example "pangyo"); shown in health and status.</summary>
    public string Site { get; set; } = "";

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Site))
        {
            throw new InvalidOperationException("Haetae:Site is required (the name of this node's data center).");
        }
    }
}
