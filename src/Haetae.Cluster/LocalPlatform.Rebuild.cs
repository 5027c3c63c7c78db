using System.Diagnostics;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>Rebuilding a burned site, and waiting for readiness and full redundancy.</summary>
public sealed partial class LocalPlatform
{
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
    /// A rebuilt replica can stay "not current" far longer than a rebuild takes (docs/known-issues.md). A new
    /// leader starts the replica's catch-up again, so a replica stalled for <see cref="StalledReplica"/> gets
    /// its stream's leader stepped down, once per stall. Stalled means: named "not current" by its server's
    /// /healthz, or behind its leader by a lag that has not shrunk, for that long (the /healthz text can
    /// change between polls, so the lag counts too).
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
}
