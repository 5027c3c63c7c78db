using System.Diagnostics;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>How a local platform runs.</summary>
public sealed class LocalPlatformOptions
{
    /// <summary>Start a Haetae node beside each site's nats-server. Default true; storage-only tests turn it off.</summary>
    public bool WithNodes { get; set; } = true;

    /// <summary>Start the sample third-party app (the exchange) once the nodes are ready. Default true; needs nodes.</summary>
    public bool WithExchange { get; set; } = true;

    /// <summary>The control socket `haetae up` serves, if any: the console then offers fire and rebuild.</summary>
    public string? ControlSocket { get; set; }

    /// <summary>Extra configuration for every node, as environment variables (for example Haetae__Login__RotateKeysEvery).</summary>
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

            await Task.WhenAll(spec.Sites.Select(site => platform.StartSiteAsync(site)));
            await platform.WaitUntilReadyAsync(cancellationToken);
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
        ClusterStatus.ReadAsync(Describe(), _monitoring, _options.WithNodes, cancellationToken);

    /// <summary>
    /// Burns a site as a fire would: every process of the site is killed at once (SIGKILL) and its data
    /// folder is gone (moved out of reach at once, deleted when the site is rebuilt).
    /// </summary>
    public async Task FireAsync(string siteName, CancellationToken cancellationToken)
    {
        var site = Find(siteName);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (site.State is SiteState.Burning or SiteState.Burned)
            {
                throw new PlatformException($"site '{siteName}' is already burning");
            }

            site.State = SiteState.Burning;
            _options.Log($"{siteName}: fire: killing every process and deleting {Spec.DataDirectory(siteName)}");
            await Task.WhenAll(site.Processes.Select(ChildProcesses.KillAsync));
            try
            {
                await WaitUntilUnmountedAsync(site, cancellationToken);
                // Out of reach at once, deleted at the rebuild: every site shares this machine's disk, and deleting a
                // store of tens of megabytes at the instant of the fire stalls the others' fsyncs, which a fire in
                // another building never does.
                Bury(Spec.DiskDirectory(siteName));
                Bury(Spec.DataDirectory(siteName));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The processes are dead either way; the site counts as burned, and rebuild deletes the folder again.
                _options.Log($"{siteName}: could not delete its data folder yet: {e.Message}");
            }

            site.State = SiteState.Burned;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Cuts a site off from every other site (its links, both directions) without killing anything: its
    /// processes keep running and its clients can still reach it. Needs a platform started with proxied links.
    /// </summary>
    public Task PartitionAsync(string siteName, CancellationToken cancellationToken) => SetLinksAsync(siteName, cut: true, cancellationToken);

    /// <summary>Restores every link of a cut-off site.</summary>
    public Task HealAsync(string siteName, CancellationToken cancellationToken) => SetLinksAsync(siteName, cut: false, cancellationToken);

    private async Task SetLinksAsync(string siteName, bool cut, CancellationToken cancellationToken)
    {
        Find(siteName);
        if (_links.Count == 0)
        {
            throw new PlatformException("this platform's links between sites are not proxied, so a site cannot be cut off");
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            foreach (var link in _links.Where(l => l.From == siteName || l.To == siteName))
            {
                if (cut)
                {
                    link.Cut();
                }
                else
                {
                    link.Heal();
                }
            }

            _options.Log($"{siteName}: {(cut ? "cut off from every other site" : "links restored")}");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A fire alarm at <paramref name="siteName"/>: its node stops serving, ends its requests and sockets so that
    /// its clients move to the other sites, and has its server step down from every stream and bucket it leads;
    /// the meta group's leadership moves too. Returns once nothing is led there (how long that took); a fire
    /// after that pauses no write. Rebuild (after a fire) brings the site back into service.
    /// </summary>
    public async Task<TimeSpan> EvacuateAsync(string siteName, CancellationToken cancellationToken)
    {
        var site = Find(siteName);
        if (_nodeDll is null)
        {
            throw new PlatformException("evacuation needs the sites' nodes: they fence the site and move its leaders");
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (site.State is not (SiteState.Running or SiteState.Evacuated))
            {
                throw new PlatformException($"site '{siteName}' is {site.State.ToString().ToLowerInvariant()}; only a running site is evacuated");
            }

            site.State = SiteState.Evacuated;
        }
        finally
        {
            _gate.Release();
        }

        var elapsed = Stopwatch.StartNew();
        _options.Log($"{siteName}: fire alarm: evacuating (node fenced, leaders moving to the other sites)");
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        using (var request = new HttpRequestMessage(HttpMethod.Put, new Uri(site.Spec.NodeUri, "admin/evacuation")))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Spec.Secrets.AdminKey);
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new PlatformException($"{siteName}: its node refused the evacuation: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(EvacuationTimeout);
        ClusterStatus? status = null;
        try
        {
            while (true)
            {
                status = await ReadStatusAsync(deadline.Token);
                var here = status.Sites.Single(s => s.Name == siteName);
                if (status.MetaLeader is not null && status.MetaLeader != siteName && here.StreamLeaders + here.KvLeaders + here.ObjectStoreLeaders == 0)
                {
                    break;
                }

                if (status.MetaLeader == siteName)
                {
                    var successor = status.Sites.First(s => s.Name != siteName && s.Up).Name;
                    await RequestAsync(successor, "$JS.API.META.LEADER.STEPDOWN", $"{{\"placement\":{{\"preferred\":\"{successor}\"}}}}", system: true, deadline.Token);
                }

                // The node steps its server down from the streams every second; monitoring is the only signal.
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var here = status?.Sites.Single(s => s.Name == siteName);
            throw new PlatformException($"evacuation of {siteName} did not finish within {EvacuationTimeout.TotalSeconds:0} s: " +
                $"meta leader {status?.MetaLeader ?? "none"}, {here?.StreamLeaders + here?.KvLeaders + here?.ObjectStoreLeaders} streams and buckets still led there");
        }

        _options.Log($"{siteName}: evacuated after {elapsed.Elapsed.TotalSeconds:0.0} s: nothing is led there");
        return elapsed.Elapsed;
    }

    /// <summary>How long moving every leader off an evacuated site may take.</summary>
    private static readonly TimeSpan EvacuationTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A JetStream API request through <paramref name="viaSite"/>'s server, as the application or the system account; returns the reply.</summary>
    private async Task<string?> RequestAsync(string viaSite, string subject, string body, bool system, CancellationToken cancellationToken)
    {
        await using var connection = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with
        {
            Url = Spec.ClientUrls(viaSite)[0],
            Name = "haetae-platform",
            AuthOpts = NATS.Client.Core.NatsAuthOpts.Default with
            {
                Username = system ? PlatformSecrets.SystemUser : PlatformSecrets.AppUser,
                Password = system ? Spec.Secrets.SystemPassword : Spec.Secrets.AppPassword,
            },
        });
        var reply = await connection.RequestAsync<string, string>(subject, body, cancellationToken: cancellationToken);
        return reply.Data;
    }

    /// <summary>
    /// Cuts the power of <paramref name="siteNames"/> at the same instant: each site's disk first throws away
    /// whatever it had not fsynced and stops answering, then its processes are killed (SIGKILL). The disks keep
    /// the rest, and <see cref="PowerOnAsync"/> starts the sites on them. Needs <see cref="LocalPlatformOptions.PowerCuts"/>.
    /// </summary>
    /// <returns>What each disk threw away, as it said ("power cut: FILES files, BYTES bytes undone"), by site.</returns>
    public async Task<IReadOnlyDictionary<string, string>> PowerCutAsync(IReadOnlyList<string> siteNames, CancellationToken cancellationToken)
    {
        if (_powerFsDll is null)
        {
            throw new PlatformException("this platform's stores are not on haetae-powerfs, so a power cut cannot lose what was not fsynced; start it with power cuts");
        }

        var sites = siteNames.Select(Find).ToList();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (sites.FirstOrDefault(s => s.State != SiteState.Running) is { } notRunning)
            {
                throw new PlatformException($"site '{notRunning.Spec.Name}' is {notRunning.State.ToString().ToLowerInvariant()}; only a running site loses power");
            }

            _options.Log($"power cut: {string.Join(", ", siteNames)}");
            foreach (var site in sites)
            {
                site.State = SiteState.PoweredOff;
            }

            // Every process of every site dies at the same instant; then each disk loses what it had not synced
            // (nothing reaches it in between: FUSE caches no writes, and a request still in flight finds no power).
            await Task.WhenAll(sites.SelectMany(s => new[] { s.Server, s.Node }).OfType<Process>().Select(ChildProcesses.KillAsync));
            var undone = await Task.WhenAll(sites.Select(async site =>
            {
                ChildProcesses.Signal(site.Disk!, ChildProcesses.SigUsr1);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(DiskTimeout);
                try
                {
                    await site.Disk!.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new PlatformException($"{site.Spec.Name}: its disk did not cut within {DiskTimeout.TotalSeconds:0} s (see {Spec.LogDirectory})");
                }

                await WaitUntilUnmountedAsync(site, cancellationToken);
                var said = (await File.ReadAllLinesAsync(DiskLog(site.Spec.Name), cancellationToken)).LastOrDefault(l => l.StartsWith("power cut: ", StringComparison.Ordinal));
                return (Site: site.Spec.Name, Undone: said ?? "power cut: (the disk said nothing)");
            }));
            return undone.ToDictionary(u => u.Site, u => u.Undone);
        }
        finally
        {
            _gate.Release();
        }
    }

    private string DiskLog(string site) => Path.Combine(Spec.LogDirectory, $"{site}-disk.log");

    /// <summary>Starts sites whose power was cut again, on their own disks, and waits until the platform is ready.</summary>
    public async Task PowerOnAsync(IReadOnlyList<string> siteNames, CancellationToken cancellationToken)
    {
        var sites = siteNames.Select(Find).ToList();
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (sites.FirstOrDefault(s => s.State != SiteState.PoweredOff) is { } on)
            {
                throw new PlatformException($"site '{on.Spec.Name}' is {on.State.ToString().ToLowerInvariant()}, not powered off");
            }

            await Task.WhenAll(sites.Select(s => StartSiteAsync(s.Spec)));
        }
        finally
        {
            _gate.Release();
        }

        await WaitUntilReadyAsync(cancellationToken);
    }

    /// <summary>
    /// Compares every stream's replicas, as each running server holds its own (first and last sequence,
    /// messages, bytes), until they agree or <paramref name="settle"/> has passed; returns the streams whose
    /// replicas still disagree, each with what every server holds. Meant for a platform with no load: under
    /// writes the followers are a moment behind.
    /// </summary>
    public async Task<IReadOnlyList<string>> FindDivergentReplicasAsync(TimeSpan settle, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var held = new Dictionary<string, List<(string Site, StreamState State)>>(StringComparer.Ordinal);
            foreach (var site in Spec.Sites.Where(s => _sites[s.Name].State is SiteState.Running or SiteState.Evacuated))
            {
                var report = await _monitoring.TryGetJetStreamAsync(site, cancellationToken);
                foreach (var stream in report?.Accounts?.SelectMany(a => a.Streams ?? []) ?? [])
                {
                    if (stream.State is { } state)
                    {
                        (held.TryGetValue(stream.Name, out var list) ? list : held[stream.Name] = []).Add((site.Name, state));
                    }
                }
            }

            var divergent = held
                .Where(h => h.Value.Count != Assets.Replicas || h.Value.Select(r => r.State).Distinct().Count() > 1)
                .Select(h => $"{h.Key}: {string.Join(", ", h.Value.Select(r => $"{r.Site} seq {r.State.FirstSequence}..{r.State.LastSequence}, {r.State.Messages} messages, {r.State.Bytes} bytes"))}")
                .ToList();
            if (divergent.Count == 0 || waited.Elapsed > settle)
            {
                return divergent;
            }

            // Followers apply what the leader committed a moment later; monitoring is the only signal.
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    /// <summary>How long a site's disk may take to mount, cut or unmount.</summary>
    private static readonly TimeSpan DiskTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Mounts the site's disk (haetae-powerfs over its disk folder) at its data folder, and waits until it is mounted.</summary>
    private async Task MountDiskAsync(SiteRuntime site)
    {
        var name = site.Spec.Name;
        Directory.CreateDirectory(Spec.DiskDirectory(name));
        site.Disk = await ChildProcesses.StartAsync(
            "dotnet", [_powerFsDll!, Spec.DiskDirectory(name), Spec.DataDirectory(name)], DiskLog(name));
        var waited = Stopwatch.StartNew();
        while (!Mounts.IsMounted(Spec.DataDirectory(name)))
        {
            if (ChildProcesses.HasExited(site.Disk) || waited.Elapsed > DiskTimeout)
            {
                throw new PlatformException($"{name}: its disk (haetae-powerfs) did not mount at {Spec.DataDirectory(name)} (see {name}-disk.log in {Spec.LogDirectory}; it needs /dev/fuse and fusermount3)");
            }

            // The kernel's mount table is the only signal of a finished mount.
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>
    /// Waits until a dead disk's mount is gone: fusermount3 takes it away when haetae-powerfs exits, but gives up
    /// if the mount is busy at that moment, so after a second it is asked once more, lazily.
    /// </summary>
    private async Task WaitUntilUnmountedAsync(SiteRuntime site, CancellationToken cancellationToken)
    {
        var mountPoint = Spec.DataDirectory(site.Spec.Name);
        var waited = Stopwatch.StartNew();
        var asked = false;
        while (site.Disk is not null && Mounts.IsMounted(mountPoint))
        {
            if (waited.Elapsed > DiskTimeout)
            {
                throw new PlatformException($"{site.Spec.Name}: {mountPoint} is still mounted {DiskTimeout.TotalSeconds:0} s after its disk stopped");
            }

            if (!asked && waited.Elapsed > TimeSpan.FromSeconds(1))
            {
                asked = true;
                using var unmount = Process.Start(new ProcessStartInfo("fusermount3", ["-u", "-z", mountPoint]) { RedirectStandardError = true });
                if (unmount is not null)
                {
                    await unmount.WaitForExitAsync(cancellationToken);
                }
            }

            // The kernel's mount table is the only signal of a finished unmount.
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }

    /// <summary>
    /// Starts a burned site again, empty, under the same server name, and waits until every replicated
    /// asset is back to three caught-up replicas. Returns how long that took from the start of the site.
    /// </summary>
    public async Task<TimeSpan> RebuildAsync(string siteName, CancellationToken cancellationToken)
    {
        var site = Find(siteName);
        await _gate.WaitAsync(cancellationToken);
        Stopwatch elapsed;
        try
        {
            if (site.State != SiteState.Burned)
            {
                throw new PlatformException(site.State == SiteState.Burning
                    ? $"site '{siteName}' is still burning"
                    : $"site '{siteName}' is {site.State.ToString().ToLowerInvariant()}, not burned; only a burned site is rebuilt");
            }

            // Never from an old disk: a server that comes back with stale Raft state rejoins as an extra peer.
            DeleteDirectory(Spec.DiskDirectory(siteName));
            DeleteDirectory(Spec.DataDirectory(siteName));
            DeleteDirectory(Ashes(siteName));
            elapsed = Stopwatch.StartNew();
            await StartSiteAsync(site.Spec);
        }
        finally
        {
            _gate.Release();
        }

        _options.Log($"{siteName}: rebuilding: started empty, waiting for every asset to have {Assets.Replicas} caught-up replicas");
        await WaitAsync(
            $"rebuild of {siteName}",
            _options.RebuildTimeout,
            status => status.FullyReplicated && NodesReady(status),
            cancellationToken);
        elapsed.Stop();
        _options.Log($"{siteName}: rebuilt; full redundancy after {elapsed.Elapsed.TotalSeconds:0.0} s");
        return elapsed.Elapsed;
    }

    /// <summary>Waits until the platform is ready: meta leader elected, every server and node answering.</summary>
    public Task WaitUntilReadyAsync(CancellationToken cancellationToken) =>
        WaitAsync("start-up", _options.ReadyTimeout, IsReady, cancellationToken);

    /// <summary>Waits until every replicated asset has three caught-up replicas and every site is healthy.</summary>
    public Task WaitUntilFullyReplicatedAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitAsync("full redundancy", timeout, status => status.FullyReplicated, cancellationToken);

    private bool IsReady(ClusterStatus status) =>
        status.MetaLeader is not null
        && status.Sites.Where(s => s.State == SiteState.Running).All(s => s.Up && s.ServerHealth is { Ok: true } && status.MetaPeers.Contains(s.Name))
        && NodesReady(status);

    private bool NodesReady(ClusterStatus status) =>
        !_options.WithNodes || status.Sites.Where(s => s.State == SiteState.Running).All(s => s.NodeReady);

    private async Task WaitAsync(string phase, TimeSpan timeout, Func<ClusterStatus, bool> done, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        ClusterStatus? last = null;
        var stalled = new Dictionary<(string Site, string Stream), (Stopwatch Since, ulong? Lag)>();
        try
        {
            while (true)
            {
                last = await ReadStatusAsync(deadline.Token);
                if (done(last))
                {
                    return;
                }

                var dead = Spec.Sites.Select(s => _sites[s.Name])
                    .Where(s => s.State == SiteState.Running)
                    .SelectMany(s => s.Describe().Processes.Where(p => !p.Alive).Select(p => $"{s.Spec.Name} {p.Role}"))
                    .ToList();
                if (dead.Count > 0)
                {
                    throw new PlatformException($"{phase} failed: {string.Join(", ", dead)} exited (see {Spec.LogDirectory})");
                }

                await NudgeStalledReplicasAsync(last, stalled, deadline.Token);

                // Polling the servers' monitoring endpoints is the only signal they offer.
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var nudges = _nudges.Count == 0 ? "" : $" (stalled replicas nudged {_nudges.Count} times; last: {_nudges[^1]})";
            throw new PlatformException($"{phase} did not finish within {timeout.TotalSeconds:0} s: {Explain(last)}{nudges}");
        }
    }

    /// <summary>How long a replica may report "not current" before its stream's leader is asked to step down.</summary>
    public static readonly TimeSpan StalledReplica = TimeSpan.FromSeconds(30);

    /// <summary>
    /// nats-server 2.9.10 sometimes leaves a rebuilt replica "not current" for good (seen for more than 300 s,
    /// on busy and on quiet streams alike), while the same rebuild usually takes seconds. A new leader
    /// starts the replica's catch-up again, so a replica stalled for <see cref="StalledReplica"/> gets
    /// its stream's leader stepped down, once per stall. Stalled means: named "not current" by its server's
    /// /healthz, or behind its leader by a lag that has not shrunk, for that long. On 2.15.1 a replica that
    /// had been cut off stayed behind for 90 s once in the storage-level partition test (its lag grew to
    /// 40,106 operations under the test's write load) and was never nudged: its server's /healthz text
    /// changed between polls, which restarted the clock, so the lag now counts too.
    /// </summary>
    private async Task NudgeStalledReplicasAsync(
        ClusterStatus status, Dictionary<(string Site, string Stream), (Stopwatch Since, ulong? Lag)> stalled, CancellationToken cancellationToken)
    {
        // The health error can name more than one stream ("...' is not current; *@site JetStream stream '...").
        var lags = status.Behind.Where(b => b.Lag is not null).ToDictionary(b => (b.Site, b.Stream), b => b.Lag);
        var now = status.Sites
            .Where(s => s.ServerHealth?.Error is not null)
            .SelectMany(s => NotCurrentStream().Matches(s.ServerHealth!.Error!).Select(m => (Site: s.Name, Stream: m.Groups["stream"].Value)))
            .Concat(lags.Keys)
            .ToHashSet();
        foreach (var gone in stalled.Keys.Where(k => !now.Contains(k)).ToList())
        {
            stalled.Remove(gone);
        }

        foreach (var key in now)
        {
            var lag = lags.GetValueOrDefault(key);
            if (!stalled.TryGetValue(key, out var since))
            {
                stalled[key] = (Stopwatch.StartNew(), lag);
            }
            else if (lag is not null && since.Lag is not null && lag < since.Lag)
            {
                // Catching up: not stalled; the clock starts again from here.
                stalled[key] = (Stopwatch.StartNew(), lag);
            }
            else if (since.Since.Elapsed >= StalledReplica)
            {
                _options.Log($"{key.Site}: replica of {key.Stream} not current for {since.Since.Elapsed.TotalSeconds:0} s; asking the stream's leader to step down");
                stalled[key] = (Stopwatch.StartNew(), lag);
                try
                {
                    var running = Spec.Sites.First(site => _sites[site.Name].State == SiteState.Running && site.Name != key.Site);
                    var reply = await RequestAsync(running.Name, $"$JS.API.STREAM.LEADER.STEPDOWN.{key.Stream}", "", system: false, cancellationToken);
                    var note = $"{key.Site}: {key.Stream} not current for {StalledReplica.TotalSeconds:0} s, leader asked to step down: {reply}";
                    _options.Log(note);
                    _nudges.Add(note);
                }
                catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
                {
                    _options.Log($"{key.Site}: stepping down the leader of {key.Stream} failed: {e.Message}");
                    _nudges.Add($"{key.Site}: stepping down the leader of {key.Stream} failed: {e.Message}");
                }
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("JetStream stream '[^ ']+ > (?<stream>[A-Za-z0-9_-]+)' is not current")]
    private static partial System.Text.RegularExpressions.Regex NotCurrentStream();

    private static string Explain(ClusterStatus? status)
    {
        if (status is null)
        {
            return "no server answered";
        }

        var reasons = new List<string>();
        if (status.MetaLeader is null)
        {
            reasons.Add("no JetStream meta leader");
        }

        reasons.AddRange(status.Sites.Where(s => !s.ServerAnswers && s.State == SiteState.Running).Select(s => $"{s.Name} server not answering"));
        reasons.AddRange(status.Sites.Where(s => s.ServerHealth is { Ok: false }).Select(s => $"{s.Name}: {s.ServerHealth!.Error}"));
        reasons.AddRange(status.MissingAssets.Take(3).Select(a => $"asset {a} missing"));
        reasons.AddRange(status.Behind.Take(3).Select(b => $"{b.Stream}@{b.Site} {b.Reason}"));
        return reasons.Count == 0 ? "nodes not ready" : string.Join("; ", reasons);
    }

    private SiteRuntime Find(string siteName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _sites.TryGetValue(siteName, out var site)
            ? site
            : throw new PlatformException($"unknown site '{siteName}' (sites: {string.Join(", ", Spec.Sites.Select(s => s.Name))})");
    }

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
            ["Haetae__Login__AdminKey"] = Spec.Secrets.AdminKey,
        };
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

            await Task.WhenAll(_sites.Values.Where(s => s.Node is not null).Select(s => ChildProcesses.StopAsync(s.Node!, _options.StopGrace)));
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
