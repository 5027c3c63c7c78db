using System.Net;
using System.Net.Http.Json;
using Haetae.Cluster;
using Haetae.Contracts;
using Haetae.Modules;
using Haetae.Platform.Store;
using Haetae.Testing;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Integration.Tests;

[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<SharedClusterFixture>
{
    public const string Name = "shared cluster";
}

/// <summary>A running platform: where replicas live, what the nodes report, who may manage servers.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class PlacementTests(SharedClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Every_replicated_asset_has_its_three_replicas_on_three_different_sites()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var connection = await Cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var siteNames = Cluster.Spec.Sites.Select(s => s.Name).ToHashSet();

        foreach (var asset in PlatformModules.Catalog.All)
        {
            var stream = await js.GetStreamAsync(asset.StreamName, cancellationToken: ct);
            var cluster = stream.Info.Cluster!;
            var peers = new[] { cluster.Leader! }.Concat(cluster.Replicas!.Select(r => r.Name)).ToList();

            Assert.Equal(Assets.Replicas, stream.Info.Config.NumReplicas);
            Assert.Equal(3, peers.Count);
            Assert.Equal(3, peers.Distinct().Count());
            Assert.All(peers, peer => Assert.Contains(peer, siteNames));
        }
    }

    [Fact]
    public async Task Status_read_from_monitoring_endpoints_shows_a_fully_replicated_platform()
    {
        var status = await Cluster.Platform.ReadStatusAsync(TestContext.Current.CancellationToken);

        Assert.True(status.FullyReplicated, string.Join("; ", status.Behind.Select(b => $"{b.Stream}@{b.Site}: {b.Reason}")));
        Assert.Contains(status.MetaLeader, Cluster.Spec.Sites.Select(s => s.Name));
        Assert.Empty(status.MissingAssets);
        Assert.Equal(PlatformModules.Catalog.All.Count, status.Assets.Count);
        Assert.Equal(PlatformModules.Catalog.All.Count, status.Sites.Sum(s => s.StreamLeaders + s.KvLeaders + s.ObjectStoreLeaders));
        Assert.All(status.Sites, site =>
        {
            Assert.True(site.Up);
            Assert.True(site.NodeReady);
            Assert.Equal(["nats-server", "node"], site.Processes.Select(p => p.Role));
        });
    }

    [Fact]
    public async Task Every_node_answers_healthz_and_readyz()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient();
        foreach (var site in Cluster.Spec.Sites)
        {
            using var live = await http.GetAsync(new Uri(site.NodeUri, "healthz"), ct);
            using var ready = await http.GetAsync(new Uri(site.NodeUri, "readyz"), ct);

            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync(ct));
        }
    }

    [Fact]
    public async Task Provisioning_again_is_a_no_op()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var connection = await Cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var before = await CreatedTimesAsync(js, ct);

        await AssetProvisioner.ProvisionAsync(connection, PlatformModules.Catalog.All, ct);

        var after = await CreatedTimesAsync(js, ct);
        Assert.Equal(before, after);
        Assert.Equal(PlatformModules.Catalog.All.Count, after.Count);
    }

    [Fact]
    public async Task Application_account_cannot_reach_the_server_management_api_but_the_system_account_can()
    {
        var ct = TestContext.Current.CancellationToken;
        const string subject = "$JS.API.SERVER.REMOVE";
        const string request = """{"peer":"no-such-server"}""";

        await using var system = await Cluster.ConnectSystemAsync();
        var answer = await system.RequestAsync<string, string>(subject, request, cancellationToken: ct);
        Assert.Contains("error", answer.Data, StringComparison.Ordinal);

        await using var app = await Cluster.ConnectAsync();
        var denied = await Assert.ThrowsAnyAsync<NatsException>(
            async () => await app.RequestAsync<string, string>(subject, request, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(1) }, cancellationToken: ct));
        Assert.IsNotType<NatsJSException>(denied);
    }

    [Fact]
    public async Task Retry_with_same_request_id_is_stored_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var connection = await Cluster.ConnectAsync();
        var js = new NatsJSContext(connection);
        var subject = Assets.ChatSubject(3, "dedup-" + Guid.NewGuid().ToString("N"));
        var before = (await js.GetStreamAsync(Assets.ChatStream(3), cancellationToken: ct)).Info.State.Messages;

        var first = await ReplicatedPublisher.PublishAsync(js, subject, "once", "request-1", ct);
        var retry = await ReplicatedPublisher.PublishAsync(js, subject, "once", "request-1", ct);

        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Seq, retry.Seq);
        Assert.Equal(before + 1, (await js.GetStreamAsync(Assets.ChatStream(3), cancellationToken: ct)).Info.State.Messages);
    }

    [Fact]
    public async Task Each_server_carries_its_data_center_tag_runs_a_current_version_and_syncs_every_write()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient();
        foreach (var site in Cluster.Spec.Sites)
        {
            var varz = await http.GetFromJsonAsync<System.Text.Json.JsonElement>(new Uri(site.MonitorUri, "varz"), ct);

            Assert.Equal(site.Name, varz.GetProperty("server_name").GetString());
            Assert.True(Version.Parse(varz.GetProperty("version").GetString()!) >= NatsServerBinary.Minimum, varz.GetProperty("version").GetString());
            var jsz = await http.GetFromJsonAsync<System.Text.Json.JsonElement>(new Uri(site.MonitorUri, "jsz"), ct);
            Assert.True(jsz.GetProperty("config").GetProperty("sync_always").GetBoolean(), $"{site.Name} acknowledges writes before they are on disk");
            Assert.Equal([$"dc:{site.Name}"], varz.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        }
    }

    [Fact]
    public async Task Rendered_configuration_passes_the_servers_own_check()
    {
        var ct = TestContext.Current.CancellationToken;
        foreach (var site in Cluster.Spec.Sites)
        {
            using var check = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(NatsServerBinary.Locate(), ["-t", "-c", Cluster.Spec.ConfigPath(site.Name)])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            var output = await check.StandardError.ReadToEndAsync(ct) + await check.StandardOutput.ReadToEndAsync(ct);
            await check.WaitForExitAsync(ct);

            Assert.True(check.ExitCode == 0, output);
            Assert.Contains("is valid", output, StringComparison.Ordinal);
        }
    }

    private static async Task<Dictionary<string, DateTimeOffset>> CreatedTimesAsync(NatsJSContext js, CancellationToken ct)
    {
        var times = new Dictionary<string, DateTimeOffset>();
        foreach (var asset in PlatformModules.Catalog.All)
        {
            var stream = await js.GetStreamAsync(asset.StreamName, cancellationToken: ct);
            times[asset.StreamName] = stream.Info.Created;
        }

        return times;
    }
}
