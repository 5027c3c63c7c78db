using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Haetae.Cluster;
using Haetae.Drill;
using Haetae.Modules;
using Haetae.Platform.Monitoring;

namespace Haetae.Cli;

/// <summary>The `haetae` command line: up, status, fire, rebuild.</summary>
internal static class HaetaeCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        // Ctrl+C and SIGTERM are ours to handle: `up` needs longer than System.CommandLine's 2 s grace to stop
        // nodes, then servers, each with its own grace period.
        using var stop = new CancellationTokenSource();
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        return await RunAsync(args, output, error, stop.Token);
    }

    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken stopping)
    {
        var home = new Option<string>("--home")
        {
            Description = "Folder of the local platform's data, logs and control socket (default: $HAETAE_HOME, else ./.haetae)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HAETAE_HOME") is { Length: > 0 } h ? h : Path.Combine(Environment.CurrentDirectory, ".haetae"),
            Recursive = true,
        };
        var sites = new Option<string>("--sites")
        {
            Description = "Comma-separated site names, at least three",
            DefaultValueFactory = _ => string.Join(",", PlatformSpec.DefaultSiteNames),
        };
        var fresh = new Option<bool>("--fresh") { Description = "Delete the local platform's data before starting" };
        var site = new Argument<string>("site") { Description = "The site's name, for example pangyo" };

        var up = new Command("up", "Start the local sites (nats-server and Haetae node each), wait until ready, run until Ctrl+C") { sites, fresh };
        up.SetAction(parse => GuardAsync(error, stopping, () => UpAsync(LocalRoot(parse.GetValue(home)!), parse.GetValue(sites)!, parse.GetValue(fresh), output, stopping)));

        var status = new Command("status", "Show each site, its processes, the meta leader, leaders per site and replicas behind");
        status.SetAction(parse => GuardAsync(error, stopping, () => StatusAsync(LocalRoot(parse.GetValue(home)!), output, stopping)));

        var evacuate = new Command("evacuate", "A fire alarm: move every leader off a site and its clients to the other sites, so that its loss pauses nothing") { site };
        evacuate.SetAction(parse => GuardAsync(error, stopping, () => SendAsync(LocalRoot(parse.GetValue(home)!), new ControlRequest("evacuate", parse.GetValue(site)), output, stopping)));
        var fire = new Command("fire", "Burn a site: kill all its processes at once (SIGKILL) and delete its data") { site };
        fire.SetAction(parse => GuardAsync(error, stopping, () => SendAsync(LocalRoot(parse.GetValue(home)!), new ControlRequest("fire", parse.GetValue(site)), output, stopping)));

        var rebuild = new Command("rebuild", "Start a burned site again, empty, and wait until every asset has three caught-up replicas") { site };
        rebuild.SetAction(parse => GuardAsync(error, stopping, () => SendAsync(LocalRoot(parse.GetValue(home)!), new ControlRequest("rebuild", parse.GetValue(site)), output, stopping)));

        var people = new Option<int>("--people") { Description = "Synthetic people", DefaultValueFactory = _ => 24 };
        var rate = new Option<double>("--rate") { Description = "Messages per person per second", DefaultValueFactory = _ => 2 };
        var warmUp = new Option<int>("--warm-up") { Description = "Seconds of load before the fire", DefaultValueFactory = _ => 20 };
        var burned = new Option<int>("--burned") { Description = "Seconds of load with the site down, before the rebuild", DefaultValueFactory = _ => 30 };
        var after = new Option<int>("--after") { Description = "Seconds of load after the rebuild", DefaultValueFactory = _ => 20 };
        var drillSite = new Option<string?>("--site") { Description = "The site to burn (default: the one leading the most shards)" };
        var rounds = new Option<int>("--rounds") { Description = "Fire-and-rebuild rounds (after the first, a random site each time)", DefaultValueFactory = _ => 1 };
        var cut = new Option<string?>("--partition") { Description = "Instead of a fire, cut this site off from the other two (nothing killed), then heal" };
        var powerCut = new Option<bool>("--power-cut") { Description = "Instead of a fire, cut one site's power (what it had not fsynced is lost), then start it on its own disk" };
        var blackout = new Option<bool>("--blackout") { Description = "Instead of a fire, cut every site's power at the same instant, then start them on their disks" };
        var warning = new Option<bool>("--warning") { Description = "A fire with warning: ring the alarm, wait until the site is evacuated, then burn it (no send may wait 1 s)" };
        var lazyFsync = new Option<bool>("--lazy-fsync") { Description = "Keep nats-server's default sync_interval instead of every write on disk before it is acknowledged (to see what a power cut loses)" };
        var report = new Option<string>("--report") { Description = "Folder for drill.json and drill.html", DefaultValueFactory = _ => "drill-report" };
        var drill = new Command("drill", "Start three sites, run a synthetic population, burn a site under load, rebuild it, and check every promise")
        {
            people, rate, warmUp, burned, after, drillSite, rounds, cut, powerCut, blackout, warning, lazyFsync, report,
        };
        drill.SetAction(parse => GuardAsync(error, stopping, () => DrillAsync(
            parse.GetValue(home)!,
            new DrillOptions
            {
                People = parse.GetValue(people),
                MessagesPerPersonPerSecond = parse.GetValue(rate),
                WarmUp = TimeSpan.FromSeconds(parse.GetValue(warmUp)),
                Burned = TimeSpan.FromSeconds(parse.GetValue(burned)),
                After = TimeSpan.FromSeconds(parse.GetValue(after)),
                Site = parse.GetValue(drillSite),
                Rounds = parse.GetValue(rounds),
                Partition = parse.GetValue(cut),
                PowerCut = parse.GetValue(powerCut),
                Blackout = parse.GetValue(blackout),
                Warning = parse.GetValue(warning),
                LazyFsync = parse.GetValue(lazyFsync),
                ReportDirectory = parse.GetValue(report)!,
            },
            output,
            stopping)));

        var root = new RootCommand("Haetae: a messaging platform that survives a data center fire") { home, up, status, evacuate, fire, rebuild, drill };
        root.Add(PayCommand.Create(home, output, error, stopping));
        root.Add(IncidentsCommand.Create(home, output, error, stopping));
        foreach (var command in ClientsCommand.Create(home, output, error, stopping))
        {
            root.Add(command);
        }

        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null });
    }

    internal static string LocalRoot(string home) => Path.Combine(Path.GetFullPath(home), "local");

    /// <summary>
    /// Operator errors print as one line and exit 1; Ctrl+C (<paramref name="stopping"/>) exits 130. Anything
    /// else is a bug and keeps its stack trace: a time-out inside a command is never taken for Ctrl+C.
    /// </summary>
    internal static async Task<int> GuardAsync(TextWriter error, CancellationToken stopping, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (PlatformException e)
        {
            await error.WriteLineAsync($"haetae: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await error.WriteLineAsync("haetae: interrupted; everything it started has been stopped");
            return 130;
        }
    }

    private static async Task<int> UpAsync(string root, string siteList, bool fresh, TextWriter output, CancellationToken cancellationToken)
    {
        var names = siteList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var socket = Path.Combine(root, "control.sock");
        await ControlClient.EnsureNoneRunningAsync(socket, cancellationToken);
        if (fresh && Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        Directory.CreateDirectory(root);
        var spec = PlatformSpec.Local(names, root, await LoadOrCreateSecretsAsync(root, cancellationToken));
        var started = Stopwatch.StartNew();
        var options = new LocalPlatformOptions { Log = line => output.WriteLine($"  {line}"), ControlSocket = Path.Combine(root, "control.sock") };
        await output.WriteLineAsync($"Starting {spec.Sites.Count} sites in {root}");

        await using var platform = await LocalPlatform.StartAsync(spec, options, cancellationToken);
        await using var control = await ControlServer.StartAsync(platform, cancellationToken);
        var status = await platform.ReadStatusAsync(cancellationToken);
        await output.WriteLineAsync($"Ready in {started.Elapsed.TotalSeconds:0.0} s; JetStream meta leader: {status.MetaLeader}");
        foreach (var s in spec.Sites)
        {
            await output.WriteLineAsync($"  {s.Name,-12} node {s.NodeUri}  nats {s.ClientUrl}  monitor {s.MonitorUri}");
        }

        if (platform.Exchange is { } exchange)
        {
            await output.WriteLineAsync($"  {"exchange",-12} {exchange.Uri} (a third-party app that signs its users in with Haetae)");
        }

        if (platform.Bank is { } bank)
        {
            await output.WriteLineAsync($"  {"bank",-12} {bank.Uri} (the bank wallets top up from and withdraw to)");
        }

        if (platform.Fleet is { } fleet)
        {
            await output.WriteLineAsync($"  {"fleet",-12} {fleet.Uri} (the kick-scooters: their network to the platform, and the short-range channel for phones)");
        }

        await output.WriteLineAsync("In another terminal: ./haetae status | ./haetae evacuate SITE | ./haetae fire SITE | ./haetae rebuild SITE. Ctrl+C stops everything.");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await output.WriteLineAsync("Stopping every site...");
        }

        return 0;
    }

    /// <summary>The running (or last) platform's secrets, for operator commands; null when there are none yet.</summary>
    internal static async Task<PlatformSecrets?> LoadSecretsAsync(string root, CancellationToken cancellationToken)
    {
        var path = Path.Combine(root, "secrets.json");
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<PlatformSecrets>(await File.ReadAllTextAsync(path, cancellationToken)) : null;
        }
        catch (JsonException)
        {
            throw new PlatformException($"{path} is damaged");
        }
    }

    private static async Task<PlatformSecrets> LoadOrCreateSecretsAsync(string root, CancellationToken cancellationToken)
    {
        // Kept beside the data so that a restarted platform's clients use the same credentials.
        var path = Path.Combine(root, "secrets.json");
        if (File.Exists(path))
        {
            try
            {
                var existing = JsonSerializer.Deserialize<PlatformSecrets>(await File.ReadAllTextAsync(path, cancellationToken));
                if (existing is { IsComplete: true })
                {
                    return existing;
                }

                if (existing is { AppPassword.Length: > 0, SystemPassword.Length: > 0, RoutePassword.Length: > 0 })
                {
                    // Written by an older version: keep the store's passwords, add the newer secrets.
                    var fresh = PlatformSecrets.Generate();
                    var completed = existing with { AdminKey = existing.AdminKey ?? fresh.AdminKey, ExchangeSecret = existing.ExchangeSecret ?? fresh.ExchangeSecret, BankSecret = existing.BankSecret ?? fresh.BankSecret };
                    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(completed), cancellationToken);
                    return completed;
                }
            }
            catch (JsonException)
            {
            }

            throw new PlatformException($"{path} is damaged; delete it (or start with --fresh) to generate new credentials");
        }

        var secrets = PlatformSecrets.Generate();
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(secrets), cancellationToken);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return secrets;
    }

    private static async Task<int> SendAsync(string root, ControlRequest request, TextWriter output, CancellationToken cancellationToken)
    {
        if (request.Command == "rebuild")
        {
            await output.WriteLineAsync($"Rebuilding {request.Site}: starting it empty and waiting for full redundancy...");
        }

        var reply = await ControlClient.SendAsync(Path.Combine(root, "control.sock"), request, cancellationToken);
        await output.WriteLineAsync(reply.Message);
        return 0;
    }

    private static async Task<int> DrillAsync(string home, DrillOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new PlatformException(e.Message);
        }

        var report = await DrillRunner.RunAsync(options, Path.Combine(Path.GetFullPath(home), "drill"), line => output.WriteLine($"  {line}"), cancellationToken);
        var (json, html) = await DrillReportWriter.WriteAsync(report, options.ReportDirectory, cancellationToken);
        await output.WriteLineAsync();
        await output.WriteAsync(DrillReportWriter.Summary(report));
        await output.WriteLineAsync($"Report: {html} and {json}");
        return report.AllKept ? 0 : 2;
    }

    private static async Task<int> StatusAsync(string root, TextWriter output, CancellationToken cancellationToken)
    {
        var reply = await ControlClient.SendAsync(Path.Combine(root, "control.sock"), new ControlRequest("describe"), cancellationToken);
        using var monitoring = new MonitoringClient();
        var status = await ClusterStatus.ReadAsync(reply.Platform!, monitoring, PlatformModules.Catalog, checkNodes: true, cancellationToken);
        await output.WriteAsync(StatusReport.Render(status));
        return 0;
    }
}
