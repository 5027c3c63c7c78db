namespace Haetae.Platform.Hosting;

/// <summary>Whether this node's site serves: not when it is cut off from a majority of the sites, nor while it is evacuated.</summary>
public interface ISiteFence
{
    bool IsIsolated { get; }

    bool IsEvacuating { get; }

    /// <summary>When the site was last found cut off (null if never).</summary>
    DateTimeOffset? IsolatedSince { get; }
}
