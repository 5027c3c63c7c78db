using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>A proxied link from one site's server to another's route port (used to cut a site off without killing it).</summary>
public sealed record LinkSpec(string From, string To, string Address, int Port);

/// <summary>
/// Generated secrets of one platform: the application, system and route users' passwords, the
/// operator's admin key for the login provider's admin API, the sample exchange's client secret, and
/// the secret the platform signs its calls to the sample bank with, and the one it signs its network calls to
/// the sample fleet's scooters with.
/// </summary>
public sealed record PlatformSecrets(string AppPassword, string SystemPassword, string RoutePassword, string AdminKey, string ExchangeSecret, string BankSecret, string FleetSecret = "")
{
    public const string AppUser = "haetae";
    public const string SystemUser = "sys";
    public const string RouteUser = "route";

    public static PlatformSecrets Generate() => new(NewSecret(), NewSecret(), NewSecret(), NewSecret(), NewSecret(), NewSecret(), NewSecret());

    /// <summary>Whether every secret is there (a secrets file from an older version lacks the newer ones).</summary>
    public bool IsComplete => new[] { AppPassword, SystemPassword, RoutePassword, AdminKey, ExchangeSecret, BankSecret, FleetSecret }.All(s => s is { Length: > 0 });

    private static string NewSecret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
}

/// <summary>The whole local platform: its sites, the folder it lives in, and its secrets.</summary>
public sealed partial record PlatformSpec(string ClusterName, IReadOnlyList<SiteSpec> Sites, string RootDirectory, PlatformSecrets Secrets)
{
    /// <summary>Where the sample third-party app (the exchange) listens: outside every site, as a third party would.</summary>
    public Uri ExchangeUri { get; init; } = new("http://127.0.0.10:8090/");

    /// <summary>The exchange's own folder (its copy of the provider's keys).</summary>
    public string ExchangeDirectory => Path.Combine(RootDirectory, "exchange");

    /// <summary>Where the sample bank listens: outside every site, as a bank is.</summary>
    public Uri BankUri { get; init; } = new("http://127.0.0.10:8091/");

    /// <summary>The bank's own folder (its SQLite store): no fire at a site reaches it.</summary>
    public string BankDirectory => Path.Combine(RootDirectory, "bank");

    /// <summary>Where the sample fleet of scooters listens (their network, and the short-range channel phones reach them through): outside every site.</summary>
    public Uri FleetUri { get; init; } = new("http://127.0.0.10:8092/");

    /// <summary>The fleet's own folder (its SQLite store of scooters, their keys and counters).</summary>
    public string FleetDirectory => Path.Combine(RootDirectory, "fleet");

    /// <summary>When not empty, every route between two sites goes through one of these proxies.</summary>
    public IReadOnlyList<LinkSpec> Links { get; init; } = [];

    /// <summary>The proxied link from <paramref name="from"/> to <paramref name="to"/>, if links are proxied.</summary>
    public LinkSpec? Link(string from, string to) => Links.FirstOrDefault(l => l.From == from && l.To == to);

    public static readonly IReadOnlyList<string> DefaultSiteNames = ["pangyo", "chuncheon", "ansan"];

    public SiteSpec Site(string name) =>
        Sites.FirstOrDefault(s => s.Name == name) ?? throw new PlatformException($"unknown site '{name}' (sites: {string.Join(", ", Sites.Select(s => s.Name))})");

    public bool HasSite(string name) => Sites.Any(s => s.Name == name);

    public string SiteDirectory(string site) => Path.Combine(RootDirectory, site);

    /// <summary>The JetStream store of a site: what a fire destroys.</summary>
    public string DataDirectory(string site) => Path.Combine(SiteDirectory(site), "data");

    /// <summary>
    /// With power cuts (<see cref="LocalPlatformOptions.PowerCuts"/>), the disk under <see cref="DataDirectory"/>:
    /// what the site's filesystem has written, fsynced or not; a power cut puts it back as the last fsyncs left it.
    /// </summary>
    public string DiskDirectory(string site) => Path.Combine(SiteDirectory(site), "disk");

    public string ConfigPath(string site) => Path.Combine(SiteDirectory(site), "nats.conf");

    public string LogDirectory => Path.Combine(RootDirectory, "logs");

    public string ControlSocketPath => Path.Combine(RootDirectory, "control.sock");

    /// <summary>Client URLs of every site, <paramref name="localSite"/> first, for a process that runs there.</summary>
    public IReadOnlyList<string> ClientUrls(string? localSite = null) =>
        [.. Sites.OrderBy(s => s.Name == localSite ? 0 : 1).Select(s => s.ClientUrl)];

    /// <summary>
    /// The fixed layout of `haetae up`: site i on 127.0.0.(11+i) with the standard NATS ports, so that
    /// every site's endpoints are the same from run to run.
    /// </summary>
    public static PlatformSpec Local(IReadOnlyList<string> siteNames, string rootDirectory, PlatformSecrets secrets)
    {
        ValidateNames(siteNames);
        var sites = siteNames.Select((name, i) => new SiteSpec(name, $"127.0.0.{11 + i}", 4222, 6222, 8222, 8080)).ToList();
        return new PlatformSpec("haetae", sites, rootDirectory, secrets);
    }

    /// <summary>
    /// A layout on free ports, for tests, benchmarks and the drill, that must not collide with each other or
    /// with `haetae up`. With <paramref name="proxiedLinks"/>, every route between two sites goes through a
    /// proxy, so that a site can be cut off without being killed.
    /// </summary>
    public static PlatformSpec Ephemeral(IReadOnlyList<string> siteNames, string rootDirectory, bool proxiedLinks = false)
    {
        ValidateNames(siteNames);
        var sites = siteNames.Select((name, i) =>
        {
            var address = $"127.0.0.{11 + i}";
            return new SiteSpec(name, address, FreePort(address), FreePort(address), FreePort(address), FreePort(address));
        }).ToList();
        var links = proxiedLinks
            ? sites.SelectMany(from => sites.Where(to => to != from).Select(to => new LinkSpec(from.Name, to.Name, to.Address, FreePort(to.Address)))).ToList()
            : [];
        return new PlatformSpec("haetae", sites, rootDirectory, PlatformSecrets.Generate())
        {
            Links = links,
            ExchangeUri = new Uri($"http://127.0.0.10:{FreePort("127.0.0.10")}/"),
            BankUri = new Uri($"http://127.0.0.10:{FreePort("127.0.0.10")}/"),
            FleetUri = new Uri($"http://127.0.0.10:{FreePort("127.0.0.10")}/"),
        };
    }

    public static void ValidateNames(IReadOnlyList<string> siteNames)
    {
        if (siteNames.Count < 3)
        {
            throw new PlatformException($"at least three sites are needed for three replicas in three data centers (got {siteNames.Count})");
        }

        if (siteNames.Count > 200)
        {
            throw new PlatformException("at most 200 local sites");
        }

        foreach (var name in siteNames)
        {
            if (!SiteName().IsMatch(name))
            {
                throw new PlatformException($"site name '{name}' must be lower-case letters, digits and '-', starting with a letter, at most 32 characters");
            }
        }

        var duplicate = siteNames.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new PlatformException($"site '{duplicate.Key}' is named twice");
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A port free on <paramref name="address"/> now and not handed out before by this process.</summary>
    private static int FreePort(string address)
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Parse(address), 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    private static partial Regex SiteName();
}
