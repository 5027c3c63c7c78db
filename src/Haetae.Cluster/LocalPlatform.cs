using System.Diagnostics;
using Haetae.Modules;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>How a local platform runs.</summary>
public sealed class LocalPlatformOptions
{
    /// <summary>Start a Haetae node beside each site's nats-server. Default true; storage-only tests turn it off.</summary>
    public bool WithNodes { get; set; } = true;

    /// <summary>Start the sample third-party app (the exchange) once the nodes are ready. Default true; needs nodes.</summary>
    public bool WithExchange { get; set; } = true;

    /// <summary>Start the sample bank (wallet top-ups and withdrawals) beside the sites. Default true; needs nodes.</summary>
    public bool WithBank { get; set; } = true;

    /// <summary>Start the sample fleet of scooters once the nodes are ready. Default true; needs nodes.</summary>
    public bool WithFleet { get; set; } = true;

    /// <summary>The control socket `haetae up` serves, if any: the console then offers fire and rebuild.</summary>
    public string? ControlSocket { get; set; }

    /// <summary>Extra configuration for every node, as environment variables (for example Haetae__Keys__RotateEvery).</summary>
    public IReadOnlyDictionary<string, string> NodeSettings { get; set; } = new Dictionary<string, string>();

    /// <summary>The nats-server program. Default <see cref="NatsServerBinary.Locate"/> (HAETAE_NATS_SERVER, or nats-server on PATH).</summary>
    public string NatsServer { get; set; } = NatsServerBinary.Locate();

    /// <summary>
    /// Every write on disk before it is acknowledged (sync_interval: always). Default true; false only for
    /// measuring what that costs (bench fsync), never for a platform that holds anything.
    /// </summary>
    public bool SyncEveryWrite { get; set; } = true;

    /// <summary>
    /// Put each site's store on haetae-powerfs, a filesystem that throws away whatever was not fsynced when
    /// the site loses power (<see cref="LocalPlatform.PowerCutAsync"/>). Needs /dev/fuse and fusermount3.
    /// Default false.
    /// </summary>
    public bool PowerCuts { get; set; }

    /// <summary>How long start-up may take before it fails, naming what was not ready. Default 60 s.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a rebuild may take to reach full redundancy before it fails. Default 5 min.</summary>
    public TimeSpan RebuildTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a stopping process gets after SIGTERM before SIGKILL. Default 10 s.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where progress lines go (the CLI prints them; tests send them to the test output).</summary>
    public Action<string> Log { get; set; } = _ => { };
}

/// <summary>
/// A platform of several sites on this machine, each a nats-server (and a Haetae node) on its own
/// loopback address and data folder. `haetae up`, the test harness and the drill all run this class,
/// so a fire in a test is the same fire as on the command line.
/// </summary>
public sealed partial class LocalPlatform : IAsyncDisposable
{
    private readonly LocalPlatformOptions _options;
    private readonly Dictionary<string, SiteRuntime> _sites;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly MonitoringClient _monitoring = new();
    private readonly string? _nodeDll;
    private readonly string? _powerFsDll;
    private readonly List<LinkProxy> _links = [];
    private readonly List<string> _nudges = [];
    private bool _disposed;

    private LocalPlatform(PlatformSpec spec, LocalPlatformOptions options)
    {
        Spec = spec;
        _options = options;
        _sites = spec.Sites.ToDictionary(s => s.Name, s => new SiteRuntime(s));
        _nodeDll = options.WithNodes ? BuiltPrograms.Node() : null;
        _powerFsDll = options.PowerCuts ? BuiltPrograms.PowerFs() : null;
    }

    public PlatformSpec Spec { get; }

    public MonitoringClient Monitoring => _monitoring;

    /// <summary>The sample third-party app, when it runs (<see cref="LocalPlatformOptions.WithExchange"/>).</summary>
    public ExchangeApp? Exchange { get; private set; }

    /// <summary>The sample bank, when it runs (<see cref="LocalPlatformOptions.WithBank"/>).</summary>
    public BankApp? Bank { get; private set; }

    /// <summary>The sample fleet of scooters, when it runs (<see cref="LocalPlatformOptions.WithFleet"/>).</summary>
    public FleetApp? Fleet { get; private set; }

    /// <summary>Starts every site and waits until the platform is ready (meta leader elected, every node ready).</summary>
    public static async Task<LocalPlatform> StartAsync(PlatformSpec spec, LocalPlatformOptions options, CancellationToken cancellationToken)
    {
        await NatsServerBinary.CheckAsync(options.NatsServer, cancellationToken);
        var platform = new LocalPlatform(spec, options);
        try
        {
            Directory.CreateDirectory(spec.LogDirectory);
            foreach (var link in spec.Links)
            {
                var target = spec.Site(link.To);
                platform._links.Add(new LinkProxy(
                    link.From,
                    link.To,
                    new System.Net.IPEndPoint(System.Net.IPAddress.Parse(link.Address), link.Port),
                    new System.Net.IPEndPoint(System.Net.IPAddress.Parse(target.Address), target.ClusterPort)));
            }

            if (options.WithNodes && options.WithBank)
            {
                // Before the sites: a node may be asked for a top-up as soon as it is ready.
                platform.Bank = new BankApp(spec, options.Log);
                await platform.Bank.StartAsync(cancellationToken);
            }

            await Task.WhenAll(spec.Sites.Select(site => platform.StartSiteAsync(site)));
            await platform.WaitUntilReadyAsync(cancellationToken);
            if (options.WithNodes && options.WithFleet)
            {
                platform.Fleet = new FleetApp(spec, options.Log);
                await platform.Fleet.StartAsync(cancellationToken);
            }

            if (options.WithNodes && options.WithExchange)
            {
                platform.Exchange = new ExchangeApp(spec, options.Log);
                await platform.Exchange.RegisterAsync(cancellationToken);
                await platform.Exchange.StartAsync(cancellationToken);
            }

            return platform;
        }
        catch
        {
            await platform.DisposeAsync();
            throw;
        }
    }

    public PlatformDescription Describe() => new(
        Spec.RootDirectory,
        Environment.ProcessId,
        [.. Spec.Sites.Select(s => _sites[s.Name].Describe())]);

    public Task<ClusterStatus> ReadStatusAsync(CancellationToken cancellationToken) =>
        ClusterStatus.ReadAsync(Describe(), _monitoring, PlatformModules.Catalog, _options.WithNodes, cancellationToken);

    private async Task StartSiteAsync(SiteSpec spec)
    {
        var site = _sites[spec.Name];
        Directory.CreateDirectory(Spec.DataDirectory(spec.Name));
        if (_powerFsDll is not null)
        {
            await MountDiskAsync(site);
        }

        var configPath = Spec.ConfigPath(spec.Name);
        await File.WriteAllTextAsync(configPath, NatsServerConfig.Render(Spec, spec, _options.SyncEveryWrite));
        File.SetUnixFileMode(configPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        site.Server = await ChildProcesses.StartAsync(
            _options.NatsServer, ["-c", configPath], Path.Combine(Spec.LogDirectory, $"{spec.Name}-nats.log"));
        _ = ReportUnexpectedExitAsync(site, site.Server, "nats-server");
        if (_nodeDll is not null)
        {
            site.Node = await ChildProcesses.StartAsync(
                "dotnet", [_nodeDll], Path.Combine(Spec.LogDirectory, $"{spec.Name}-node.log"), NodeEnvironment(spec));
            _ = ReportUnexpectedExitAsync(site, site.Node, "node");
        }

        site.State = SiteState.Running;
        _options.Log($"{spec.Name}: started nats-server (pid {site.Server.Id}){(site.Node is null ? "" : $" and node (pid {site.Node.Id})")}");
    }

    /// <summary>A process that dies while its site runs (not burned, not stopped) is news for the operator.</summary>
    private async Task ReportUnexpectedExitAsync(SiteRuntime site, Process process, string role)
    {
        await process.WaitForExitAsync();
        if (site.State == SiteState.Running && !_disposed && (site.Server == process || site.Node == process))
        {
            _options.Log($"{site.Spec.Name}: {role} (pid {process.Id}) exited unexpectedly with code {process.ExitCode}; see {Spec.LogDirectory}");
        }
    }

    private Dictionary<string, string> NodeEnvironment(SiteSpec site)
    {
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = site.NodeUri.ToString().TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Haetae__Site"] = site.Name,
            ["Haetae__Nats__User"] = PlatformSecrets.AppUser,
            ["Haetae__Nats__Password"] = Spec.Secrets.AppPassword,
            ["Haetae__Nats__MonitorUrl"] = site.MonitorUri.ToString(),
            ["Haetae__AdminKey"] = Spec.Secrets.AdminKey,
            // Everything of a local platform is on loopback, its webhook subscribers too.
            ["Haetae__Status__PrivateWebhooks"] = "true",
        };
        foreach (var (name, value) in BankApp.NodeSettings(Spec).Concat(FleetApp.NodeSettings(Spec)))
        {
            environment[name] = value;
        }

        for (var i = 0; i < Spec.Sites.Count; i++)
        {
            var other = Spec.Sites[i];
            environment[$"Haetae__Sites__{i}__Name"] = other.Name;
            environment[$"Haetae__Sites__{i}__Address"] = other.Address;
            environment[$"Haetae__Sites__{i}__ClientPort"] = other.ClientPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            environment[$"Haetae__Sites__{i}__ClusterPort"] = other.ClusterPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            environment[$"Haetae__Sites__{i}__MonitorPort"] = other.MonitorPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            environment[$"Haetae__Sites__{i}__NodePort"] = other.NodePort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (_options.ControlSocket is { } socket)
        {
            environment["Haetae__ControlSocket"] = socket;
        }

        foreach (var (name, value) in _options.NodeSettings)
        {
            environment[name] = value;
        }

        var urls = Spec.ClientUrls(site.Name);
        for (var i = 0; i < urls.Count; i++)
        {
            environment[$"Haetae__Nats__Urls__{i}"] = urls[i];
        }

        return environment;
    }

    /// <summary>Where a burned site's folders wait for the rebuild to delete them.</summary>
    private string Ashes(string site) => Path.Combine(Spec.SiteDirectory(site), "ashes");

    /// <summary>Moves <paramref name="path"/> (a burned site's folder) into the site's ashes, out of every process's reach.</summary>
    private void Bury(string path)
    {
        if (Directory.Exists(path))
        {
            var site = Path.GetFileName(Path.GetDirectoryName(path))!;
            Directory.CreateDirectory(Ashes(site));
            Directory.Move(path, Path.Combine(Ashes(site), $"{Path.GetFileName(path)}-{Guid.NewGuid():N}"));
        }
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>Stops every process it started: nodes first, then servers, each with SIGTERM and then SIGKILL.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _gate.WaitAsync();
        try
        {
            if (Exchange is not null)
            {
                await Exchange.StopAsync(_options.StopGrace);
            }

            if (Fleet is not null)
            {
                await Fleet.StopAsync(_options.StopGrace);
            }

            await Task.WhenAll(_sites.Values.Where(s => s.Node is not null).Select(s => ChildProcesses.StopAsync(s.Node!, _options.StopGrace)));
            if (Bank is not null)
            {
                await Bank.StopAsync(_options.StopGrace);
            }

            await Task.WhenAll(_sites.Values.Where(s => s.Server is not null).Select(s => ChildProcesses.StopAsync(s.Server!, _options.StopGrace)));
            await Task.WhenAll(_sites.Values.Where(s => s.Disk is not null).Select(async s =>
            {
                await ChildProcesses.StopAsync(s.Disk!, _options.StopGrace);
                try
                {
                    await WaitUntilUnmountedAsync(s, CancellationToken.None);
                }
                catch (PlatformException e)
                {
                    _options.Log(e.Message);
                }
            }));
            foreach (var link in _links)
            {
                await link.DisposeAsync();
            }

            foreach (var site in _sites.Values)
            {
                site.State = SiteState.Stopped;
                site.Server?.Dispose();
                site.Node?.Dispose();
                site.Disk?.Dispose();
            }
        }
        finally
        {
            _gate.Release();
            _monitoring.Dispose();
        }
    }

    private sealed class SiteRuntime(SiteSpec spec)
    {
        public SiteSpec Spec { get; } = spec;

        public SiteState State { get; set; } = SiteState.Stopped;

        public Process? Server { get; set; }

        public Process? Node { get; set; }

        /// <summary>With power cuts, the site's filesystem (haetae-powerfs) under its data folder.</summary>
        public Process? Disk { get; set; }

        public IEnumerable<Process> Processes => new[] { Server, Node, Disk }.OfType<Process>();

        public SiteDescription Describe()
        {
            var processes = new List<ProcessInfo>();
            if (Server is not null)
            {
                processes.Add(new ProcessInfo("nats-server", Server.Id, !ChildProcesses.HasExited(Server)));
            }

            if (Node is not null)
            {
                processes.Add(new ProcessInfo("node", Node.Id, !ChildProcesses.HasExited(Node)));
            }

            if (Disk is not null)
            {
                processes.Add(new ProcessInfo("disk", Disk.Id, !ChildProcesses.HasExited(Disk)));
            }

            return new SiteDescription(Spec, State, processes);
        }
    }
}
