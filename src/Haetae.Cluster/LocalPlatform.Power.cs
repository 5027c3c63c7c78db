using System.Diagnostics;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>Power cuts: sites off and on again on their own disks, and the replicas compared afterwards.</summary>
public sealed partial class LocalPlatform
{
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
}
