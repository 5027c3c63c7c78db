using System.Diagnostics;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>Fire, partition and heal, and evacuation on a fire alarm.</summary>
public sealed partial class LocalPlatform
{
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
                // Out of reach at once, deleted at the rebuild: every site shares this machine's disk, so deleting
                // at the instant of the fire would stall the others' fsyncs (docs/known-issues.md).
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
}
