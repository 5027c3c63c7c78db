using Haetae.Cluster;
using Haetae.Modules;
using Haetae.Platform.Store;
using NATS.Client.Core;
using Xunit;

namespace Haetae.Testing;

/// <summary>
/// A real three-site platform for a test: nats-servers (and optionally nodes) on free ports, in a
/// temporary folder, started, burned and rebuilt through <see cref="LocalPlatform"/>, the same code as
/// the `haetae` CLI. Disposing stops every process and deletes the folder, whatever the test did; if the
/// test process itself dies, the kernel kills the children (parent-death signal) and the next run
/// deletes the folder.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private const string FolderPrefix = "haetae-test-";

    private TestCluster(LocalPlatform platform, string home)
    {
        Platform = platform;
        Home = home;
    }

    public LocalPlatform Platform { get; }

    private ControlServer? _control;

    /// <summary>The folder to pass as `haetae --home` to reach this cluster from the CLI.</summary>
    public string Home { get; }

    public PlatformSpec Spec => Platform.Spec;

    /// <param name="proxiedLinks">Route every link between sites through a proxy, so that a site can be cut off.</param>
    /// <param name="withExchange">Also register and start the sample third-party app (the exchange); needs nodes.</param>
    /// <param name="nodeSettings">Extra configuration for every node, as environment variables.</param>
    /// <param name="syncEveryWrite">False only for benchmarks that measure what syncing every write costs.</param>
    public static async Task<TestCluster> StartAsync(
        bool withNodes, Action<string>? log = null, CancellationToken cancellationToken = default, bool proxiedLinks = false, bool withExchange = false,
        IReadOnlyDictionary<string, string>? nodeSettings = null, bool withControls = false, bool syncEveryWrite = true)
    {
        DeleteFoldersOfDeadRuns();
        var home = Path.Combine(Path.GetTempPath(), $"{FolderPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        var root = Path.Combine(home, "local");
        Directory.CreateDirectory(root);
        try
        {
            var spec = PlatformSpec.Ephemeral(PlatformSpec.DefaultSiteNames, root, proxiedLinks);
            var options = new LocalPlatformOptions
            {
                WithNodes = withNodes,
                WithExchange = withExchange,
                Log = log ?? (_ => { }),
                NodeSettings = nodeSettings ?? new Dictionary<string, string>(),
                ControlSocket = withControls ? spec.ControlSocketPath : null,
                SyncEveryWrite = syncEveryWrite,
            };
            var platform = await LocalPlatform.StartAsync(spec, options, cancellationToken);
            var cluster = new TestCluster(platform, home);
            try
            {
                if (withControls)
                {
                    // What `haetae up` serves: the console's fire and rebuild buttons go through it.
                    cluster._control = await ControlServer.StartAsync(platform, cancellationToken);
                }

                if (!withNodes)
                {
                    // Nodes provision the replicated assets; without them, the harness does what a node would.
                    await using var connection = await cluster.ConnectAsync();
                    await AssetProvisioner.ProvisionAsync(connection, PlatformModules.Catalog.All, cancellationToken);
                    await platform.WaitUntilFullyReplicatedAsync(TimeSpan.FromSeconds(60), cancellationToken);
                }
            }
            catch
            {
                await platform.DisposeAsync();
                throw;
            }

            return cluster;
        }
        catch
        {
            Directory.Delete(home, recursive: true);
            throw;
        }
    }

    /// <summary>What `haetae up` leaves beside the data, for the CLI's commands: the secrets file (the admin key) and the control socket.</summary>
    public async Task<ControlServer> ControlAsUpLeavesItAsync(CancellationToken ct)
    {
        await File.WriteAllTextAsync(Path.Combine(Spec.RootDirectory, "secrets.json"), System.Text.Json.JsonSerializer.Serialize(Spec.Secrets), ct);
        return await ControlServer.StartAsync(Platform, ct);
    }

    /// <summary>A client connection to the application account that knows every site, <paramref name="localSite"/> first.</summary>
    public async Task<NatsConnection> ConnectAsync(string? localSite = null, bool onlyLocal = false)
    {
        var settings = new NatsSettings
        {
            Urls = onlyLocal && localSite is not null ? [Spec.Site(localSite).ClientUrl] : [.. Spec.ClientUrls(localSite)],
            User = PlatformSecrets.AppUser,
            Password = Spec.Secrets.AppPassword,
            ClientName = "test",
        };
        var connection = new NatsConnection(settings.ToOpts());
        await connection.ConnectAsync();
        return connection;
    }

    /// <summary>One connection to each site's own server only (in site order), so that each writer really is at another site.</summary>
    public async Task<SiteConnections> ConnectEachSiteAsync() =>
        new(await Task.WhenAll(Spec.Sites.Select(s => ConnectAsync(s.Name, onlyLocal: true))));

    /// <summary>A connection to the system account (server management), for tests of what only it may do.</summary>
    public async Task<NatsConnection> ConnectSystemAsync()
    {
        var connection = new NatsConnection(NatsOpts.Default with
        {
            Url = string.Join(",", Spec.ClientUrls()),
            AuthOpts = NatsAuthOpts.Default with { Username = PlatformSecrets.SystemUser, Password = Spec.Secrets.SystemPassword },
            RequestTimeout = TimeSpan.FromSeconds(2),
        });
        await connection.ConnectAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_control is not null)
        {
            await _control.DisposeAsync();
        }

        await Platform.DisposeAsync();
        if (Directory.Exists(Home))
        {
            Directory.Delete(Home, recursive: true);
        }
    }

    /// <summary>Removes folders left by test runs whose process is gone (their servers died with them).</summary>
    private static void DeleteFoldersOfDeadRuns()
    {
        foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            var name = Path.GetFileName(folder)[FolderPrefix.Length..];
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(name[..dash], out var pid) && pid != Environment.ProcessId && !ChildProcesses.IsAlive(pid))
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                    // Another run is cleaning it up at the same moment.
                }
            }
        }
    }
}

/// <summary>One cluster with nodes, shared by a collection of tests that do not burn anything.</summary>
public sealed class SharedClusterFixture : IAsyncLifetime
{
    private TestCluster? _cluster;

    public TestCluster Cluster => _cluster ?? throw new InvalidOperationException("The shared cluster has not started.");

    public async ValueTask InitializeAsync() => _cluster = await TestCluster.StartAsync(withNodes: true, withExchange: true);

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>One connection per site (see <see cref="TestCluster.ConnectEachSiteAsync"/>), closed together.</summary>
public sealed class SiteConnections(IReadOnlyList<NatsConnection> connections) : IAsyncDisposable
{
    public IReadOnlyList<NatsConnection> Connections { get; } = connections;

    public NatsConnection this[int site] => Connections[site];

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in Connections)
        {
            await connection.DisposeAsync();
        }
    }
}
