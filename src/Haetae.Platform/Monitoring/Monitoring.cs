using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Haetae.Platform.Monitoring;

/// <summary>The JetStream accounts of a Haetae cluster.</summary>
public static class JetStreamAccounts
{
    /// <summary>The application account: every service's streams and buckets live in it.</summary>
    public const string App = "APP";
}

/// <summary>What one nats-server's monitoring endpoint (/jsz) says about JetStream.</summary>
public sealed record JetStreamReport(
    [property: JsonPropertyName("meta_cluster")] MetaCluster? MetaCluster,
    [property: JsonPropertyName("account_details")] IReadOnlyList<AccountReport>? Accounts,
    [property: JsonPropertyName("config")] JetStreamSettings? Config = null);

/// <summary>The JetStream settings a server runs with, as it reports them.</summary>
/// <param name="SyncAlways">True when every write is flushed to disk before it is acknowledged (sync_interval: always).</param>
/// <param name="SyncIntervalNanoseconds">Otherwise, how often the server flushes in the background.</param>
public sealed record JetStreamSettings(
    [property: JsonPropertyName("sync_always")] bool SyncAlways,
    [property: JsonPropertyName("sync_interval")] long SyncIntervalNanoseconds);

/// <summary>The part of a server's /varz that the platform reports.</summary>
/// <param name="Start">When the server process started.</param>
public sealed record ServerInfo([property: JsonPropertyName("version")] string? Version, [property: JsonPropertyName("start")] DateTimeOffset? Start = null);

/// <param name="Replicas">As the meta leader sees them: the other servers of the meta group.</param>
public sealed record MetaCluster(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("leader")] string? Leader,
    [property: JsonPropertyName("cluster_size")] int ClusterSize,
    [property: JsonPropertyName("replicas")] IReadOnlyList<MetaPeer>? Replicas = null);

public sealed record MetaPeer(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("current")] bool Current,
    [property: JsonPropertyName("offline")] bool Offline);

public sealed record AccountReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("stream_detail")] IReadOnlyList<StreamReport>? Streams);

public sealed record StreamReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("cluster")] StreamCluster? Cluster,
    [property: JsonPropertyName("state")] StreamState? State);

public sealed record StreamCluster(
    [property: JsonPropertyName("leader")] string? Leader,
    [property: JsonPropertyName("replicas")] IReadOnlyList<ReplicaReport>? Replicas);

/// <remarks>The server's own "current" flag is left out on purpose: it says true long before a rebuilt replica has caught up.</remarks>
/// <param name="Lag">Operations the replica is behind the leader, as the leader sees it.</param>
/// <param name="ActiveNanoseconds">Time since the leader last heard from the replica, in nanoseconds.</param>
public sealed record ReplicaReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("offline")] bool Offline,
    [property: JsonPropertyName("lag")] ulong Lag,
    [property: JsonPropertyName("active")] long ActiveNanoseconds)
{
    /// <summary>How long ago the leader last heard from this replica.</summary>
    public TimeSpan SinceLastContact => TimeSpan.FromTicks(ActiveNanoseconds / 100);
}

public sealed record StreamState(
    [property: JsonPropertyName("messages")] ulong Messages,
    [property: JsonPropertyName("last_seq")] ulong LastSequence,
    [property: JsonPropertyName("first_seq")] ulong FirstSequence = 0,
    [property: JsonPropertyName("bytes")] ulong Bytes = 0);

/// <summary>A server's /healthz answer: 200 only when JetStream and every asset it holds are current.</summary>
public sealed record ServerHealth(bool Ok, string? Error)
{
    /// <summary>
    /// The health a server reported. A consumer that is "not current" does not count: every consumer here
    /// is a node's watch (ephemeral, one replica, nothing to rebuild) and can stay so for minutes after a
    /// partition heals (docs/known-issues.md). /healthz names only the first problem it finds; the replicas
    /// of the catalog's assets are also checked from stream info.
    /// </summary>
    public static ServerHealth From(bool answeredOk, string? error)
    {
        var ok = answeredOk
            || (error is not null && error.StartsWith("JetStream consumer '", StringComparison.Ordinal) && error.EndsWith("' is not current", StringComparison.Ordinal));
        return new ServerHealth(ok, ok ? null : error);
    }
}

/// <summary>Reads the nats-servers' monitoring endpoints and the nodes' health endpoints.</summary>
public sealed class MonitoringClient : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };

    public async Task<JetStreamReport?> TryGetJetStreamAsync(SiteSpec site, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.GetFromJsonAsync<JetStreamReport>(
                new Uri(site.MonitorUri, "jsz?accounts=true&streams=true"), cancellationToken);
        }
        catch (Exception e) when (IsUnreachable(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>The server's general information (/varz); null when it does not answer.</summary>
    public async Task<ServerInfo?> TryGetServerInfoAsync(SiteSpec site, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.GetFromJsonAsync<ServerInfo>(new Uri(site.MonitorUri, "varz"), cancellationToken);
        }
        catch (Exception e) when (IsUnreachable(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>The server's own health; null when it does not answer at all.</summary>
    public async Task<ServerHealth?> TryGetServerHealthAsync(SiteSpec site, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(site.MonitorUri, "healthz"), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            string? error = null;
            try
            {
                using var json = JsonDocument.Parse(body);
                if (json.RootElement.TryGetProperty("error", out var e))
                {
                    error = e.GetString();
                }
            }
            catch (JsonException)
            {
                error = body;
            }

            return ServerHealth.From(response.IsSuccessStatusCode, error ?? response.StatusCode.ToString());
        }
        catch (Exception e) when (IsUnreachable(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>True when the node at <paramref name="site"/> answers 200 on <paramref name="path"/> (/healthz or /readyz).</summary>
    public async Task<bool> IsNodeHealthyAsync(SiteSpec site, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(site.NodeUri, path.TrimStart('/')), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (IsUnreachable(e, cancellationToken))
        {
            return false;
        }
    }

    private static bool IsUnreachable(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or JsonException or NotSupportedException
        || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    public void Dispose() => _http.Dispose();
}
