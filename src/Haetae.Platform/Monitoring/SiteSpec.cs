namespace Haetae.Platform.Monitoring;

/// <summary>One data center of the local platform: its loopback address and ports.</summary>
/// <param name="Name">Site name, also the nats-server's server_name and its "dc:" tag.</param>
/// <param name="Address">The site's own loopback address (127.0.0.x).</param>
public sealed record SiteSpec(string Name, string Address, int ClientPort, int ClusterPort, int MonitorPort, int NodePort)
{
    public string ClientUrl => $"nats://{Address}:{ClientPort}";
    public string RouteUrl => $"nats-route://{Address}:{ClusterPort}";
    public Uri MonitorUri => new($"http://{Address}:{MonitorPort}/");
    public Uri NodeUri => new($"http://{Address}:{NodePort}/");
}

/// <summary>An operator-facing error: its message is one line that says what is wrong.</summary>
public sealed class PlatformException(string message, Exception? inner = null) : Exception(message, inner);
