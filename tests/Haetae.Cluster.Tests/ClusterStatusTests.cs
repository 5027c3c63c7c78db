using Haetae.Contracts;
using Haetae.Modules;
using Haetae.Platform;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster.Tests;

/// <summary>Deciding redundancy from what the servers' monitoring endpoints said.</summary>
public sealed class ClusterStatusTests
{
    private static readonly PlatformSpec Spec = PlatformSpec.Local(PlatformSpec.DefaultSiteNames, "/x", PlatformSecrets.Generate());

    private static SiteDescription Site(string name, SiteState state = SiteState.Running) =>
        new(Spec.Site(name), state, [new ProcessInfo("nats-server", 1, state == SiteState.Running)]);

    /// <summary>Every asset led by pangyo, with the other two as caught-up followers.</summary>
    private static JetStreamReport Report(string server, Func<string, ReplicaReport>? replica = null) => new(
        new MetaCluster("haetae", "pangyo", 3),
        [new AccountReport(NatsServerConfig.AppAccount, [.. Catalog.All.Select(a => new StreamReport(
            a.StreamName,
            new StreamCluster("pangyo", [.. new[] { "chuncheon", "ansan" }.Select(r => replica?.Invoke(r) ?? new ReplicaReport(r, false, 0, 5_000_000))]),
            new StreamState(10, 10)))])]);

    private static readonly ServerHealth Ok = new(true, null);

    private static readonly AssetCatalog Catalog = PlatformModules.Catalog;

    private static ClusterStatus Compute(IReadOnlyList<SiteReading> readings) => ClusterStatus.Compute(readings, Catalog);

    [Fact]
    public void Three_healthy_sites_with_caught_up_replicas_are_fully_replicated()
    {
        var status = Compute(
        [
            new SiteReading(Site("pangyo"), Report("pangyo"), Ok, true),
            new SiteReading(Site("chuncheon"), Report("chuncheon"), Ok, true),
            new SiteReading(Site("ansan"), Report("ansan"), Ok, true),
        ]);

        Assert.True(status.FullyReplicated);
        Assert.Equal("pangyo", status.MetaLeader);
        Assert.Equal(Catalog.All.OfType<StreamAsset>().Count(), status.Sites[0].StreamLeaders);
        Assert.Equal(Catalog.All.OfType<KvAsset>().Count(), status.Sites[0].KvLeaders);
        Assert.Equal(Catalog.All.OfType<ObjectStoreAsset>().Count(), status.Sites[0].ObjectStoreLeaders);
        Assert.Equal(0, status.Sites[1].StreamLeaders);
    }

    [Fact]
    public void A_server_whose_healthz_fails_is_behind_even_when_stream_info_says_current()
    {
        var status = Compute(
        [
            new SiteReading(Site("pangyo"), Report("pangyo"), Ok, true),
            new SiteReading(Site("chuncheon"), Report("chuncheon"), new ServerHealth(false, "JetStream stream 'APP > CHAT_03' is not current"), true),
            new SiteReading(Site("ansan"), Report("ansan"), Ok, true),
        ]);

        Assert.False(status.FullyReplicated);
        var behind = Assert.Single(status.Behind);
        Assert.Equal(new LaggingReplica("*", "chuncheon", "JetStream stream 'APP > CHAT_03' is not current"), behind);
    }

    [Fact]
    public void A_lagging_replica_seen_by_the_leader_is_behind()
    {
        var lagging = (string r) => new ReplicaReport(r, false, r == "ansan" ? 4200ul : 0, 5_000_000);
        var status = Compute(
        [
            new SiteReading(Site("pangyo"), Report("pangyo", lagging), Ok, true),
            new SiteReading(Site("chuncheon"), Report("chuncheon"), Ok, true),
            new SiteReading(Site("ansan"), Report("ansan"), Ok, true),
        ]);

        Assert.False(status.FullyReplicated);
        Assert.Equal(Catalog.All.Count, status.Behind.Count);
        Assert.All(status.Behind, b => Assert.Equal(("ansan", "4200 operations behind"), (b.Site, b.Reason)));
    }

    [Fact]
    public void Operations_in_flight_under_load_count_as_caught_up_and_offline_does_not()
    {
        var inFlight = (string r) => new ReplicaReport(r, false, ClusterStatus.CaughtUpLag, 900_000_000);
        var offline = (string r) => new ReplicaReport(r, false, 0, r == "chuncheon" ? 4_000_000_000 : 5_000_000);
        ClusterStatus Read(Func<string, ReplicaReport> replica) => Compute(
        [
            new SiteReading(Site("pangyo"), Report("pangyo", replica), Ok, true),
            new SiteReading(Site("chuncheon"), Report("chuncheon"), Ok, true),
            new SiteReading(Site("ansan"), Report("ansan"), Ok, true),
        ]);

        Assert.True(Read(inFlight).FullyReplicated);
        var down = Read(offline);
        Assert.False(down.FullyReplicated);
        Assert.All(down.Behind, b => Assert.Equal(("chuncheon", "offline (not heard from for 4 s)"), (b.Site, b.Reason)));
    }

    [Fact]
    public void A_burned_site_means_no_full_redundancy_and_its_assets_are_listed_missing_only_if_nobody_has_them()
    {
        var status = Compute(
        [
            new SiteReading(Site("pangyo"), Report("pangyo"), Ok, true),
            new SiteReading(Site("chuncheon"), Report("chuncheon"), Ok, true),
            new SiteReading(Site("ansan", SiteState.Burned), null, null, false),
        ]);

        Assert.False(status.FullyReplicated);
        Assert.Empty(status.MissingAssets);
        Assert.False(status.Sites[2].Up);
        Assert.False(status.Sites[2].ServerAnswers);
    }

    [Fact]
    public void A_leader_whose_server_does_not_answer_means_an_election_is_under_way()
    {
        var status = Compute(
        [
            new SiteReading(Site("pangyo", SiteState.Burned), null, null, false),
            new SiteReading(Site("chuncheon"), Report("chuncheon"), Ok, true),
            new SiteReading(Site("ansan"), Report("ansan"), Ok, true),
        ]);

        Assert.All(status.Assets, a => Assert.Null(a.Leader));
        Assert.Equal(Catalog.All.Count, status.Behind.Count(b => b.Reason == "no leader (election under way)" && b.Site == "pangyo"));
        Assert.Equal(0, status.Sites[0].StreamLeaders);
    }

    [Fact]
    public void An_asset_no_server_reports_is_missing()
    {
        var partial = new JetStreamReport(new MetaCluster("haetae", "pangyo", 3), [new AccountReport(NatsServerConfig.AppAccount, [])]);
        var status = Compute([.. PlatformSpec.DefaultSiteNames.Select(n => new SiteReading(Site(n), partial, Ok, true))]);

        Assert.False(status.FullyReplicated);
        Assert.Equal(Catalog.All.Select(a => a.StreamName).Order(StringComparer.Ordinal), status.MissingAssets);
    }

    [Theory]
    [InlineData(true, null, true)]
    [InlineData(false, "JetStream stream 'APP > CHAT_03' is not current", false)]
    [InlineData(false, "JetStream consumer 'APP > KV_signing-keys > neVter9ZIRUT5rq0ErGdKZ' is not current", true)]
    [InlineData(false, "JetStream not enabled for account", false)]
    public void A_lagging_watch_consumer_does_not_count_against_a_servers_health(bool answeredOk, string? error, bool healthy) =>
        Assert.Equal(healthy, ServerHealth.From(answeredOk, error).Ok);
}
