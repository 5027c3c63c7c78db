using NATS.Client.Core;

namespace Haetae.Platform.Store;

/// <summary>How a process reaches the replicated store. Bound from configuration section "Haetae:Nats".</summary>
public sealed class NatsSettings
{
    /// <summary>Every site's client URL, the local site first: the client tries them in this order.</summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>User of the application account (never the system account).</summary>
    public string User { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary>
    /// The local site's nats-server monitoring endpoint (http://host:port/), if this process runs next to
    /// one; a node uses it to notice that its site is cut off from the others.
    /// </summary>
    public string? MonitorUrl { get; set; }

    /// <summary>Connection name shown in the servers' monitoring (for example "node-pangyo").</summary>
    public string ClientName { get; set; } = "haetae";

    /// <summary>How long a request (a JetStream API call, a publish acknowledgement) may take. Default 2 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public void Validate()
    {
        if (Urls.Count == 0)
        {
            throw new InvalidOperationException("Haetae:Nats:Urls must name at least one nats:// URL (every site's, local first).");
        }

        foreach (var url in Urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "nats")
            {
                throw new InvalidOperationException($"Haetae:Nats:Urls has '{url}', which is not a nats:// URL.");
            }
        }

        if (string.IsNullOrEmpty(User) || string.IsNullOrEmpty(Password))
        {
            throw new InvalidOperationException("Haetae:Nats:User and Haetae:Nats:Password are required.");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("Haetae:Nats:RequestTimeout must be positive.");
        }
    }

    /// <summary>
    /// Client options that survive a site loss: every site's URL in order, reconnect forever and fast,
    /// and a short ping so that a frozen server is noticed in seconds rather than minutes.
    /// </summary>
    public NatsOpts ToOpts()
    {
        Validate();
        return NatsOpts.Default with
        {
            Url = string.Join(",", Urls),
            Name = ClientName,
            AuthOpts = NatsAuthOpts.Default with { Username = User, Password = Password },
            NoRandomize = true,
            RetryOnInitialConnect = true,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromSeconds(1),
            ReconnectJitter = TimeSpan.FromMilliseconds(50),
            PingInterval = TimeSpan.FromSeconds(2),
            MaxPingOut = 2,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            RequestTimeout = RequestTimeout,
            CommandTimeout = RequestTimeout,
        };
    }
}
