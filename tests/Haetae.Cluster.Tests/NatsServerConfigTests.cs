namespace Haetae.Cluster.Tests;

public sealed class NatsServerConfigTests
{
    private static readonly PlatformSpec Platform = PlatformSpec.Local(
        PlatformSpec.DefaultSiteNames, "/srv/haetae", new PlatformSecrets("app-secret", "sys-secret", "route-secret", "admin-key-admin-key-admin-key-admin-key", "exchange-secret", "bank-secret-bank-secret"));

    private static string Render(string site) => NatsServerConfig.Render(Platform, Platform.Site(site));

    [Fact]
    public void Each_site_has_its_own_name_address_tag_and_data_folder()
    {
        var config = Render("chuncheon");

        Assert.Contains("server_name: \"chuncheon\"", config, StringComparison.Ordinal);
        Assert.Contains("listen: \"127.0.0.12:4222\"", config, StringComparison.Ordinal);
        Assert.Contains("http: \"127.0.0.12:8222\"", config, StringComparison.Ordinal);
        Assert.Contains("server_tags: [\"dc:chuncheon\"]", config, StringComparison.Ordinal);
        Assert.Contains("store_dir: \"/srv/haetae/chuncheon/data\"", config, StringComparison.Ordinal);
    }

    [Fact]
    public void JetStream_keeps_replicas_in_distinct_data_centers()
    {
        Assert.Contains("unique_tag: \"dc:\"", Render("pangyo"), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_write_is_on_disk_before_it_is_acknowledged()
    {
        var jetstream = Render("ansan").Split("jetstream {")[1].Split('}')[0];

        Assert.Contains("  sync_interval: always\n", jetstream, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nats-server: v2.15.1\n", "2.15.1")]
    [InlineData("nats-server: v2.9.10", "2.9.10")]
    [InlineData("nats-server: 2.12.0-RC.1", "2.12.0")]
    public void Server_version_is_read_from_what_it_prints(string printed, string expected)
    {
        Assert.Equal(Version.Parse(expected), NatsServerBinary.Parse(printed));
        Assert.Equal(Version.Parse(expected) >= new Version(2, 15, 0), NatsServerBinary.Parse(printed) >= NatsServerBinary.Minimum);
    }

    [Fact]
    public void Output_that_names_no_version_gives_none()
    {
        Assert.Null(NatsServerBinary.Parse("bash: nats-server: command not found"));
    }

    [Fact]
    public void Routes_go_to_every_other_site_and_never_to_itself()
    {
        var config = Render("pangyo");
        var routes = config.Split('\n').Single(l => l.TrimStart().StartsWith("routes:", StringComparison.Ordinal));

        Assert.Equal(
            "  routes: [\"nats-route://route:route-secret@127.0.0.12:6222\", \"nats-route://route:route-secret@127.0.0.13:6222\"]",
            routes);
        Assert.Contains("listen: \"127.0.0.11:6222\"", config, StringComparison.Ordinal);
    }

    [Fact]
    public void Application_account_has_JetStream_and_is_denied_the_server_api()
    {
        var config = Render("ansan");

        Assert.Contains("APP {\n    jetstream: enabled", config, StringComparison.Ordinal);
        Assert.Contains("deny: [\"$JS.API.SERVER.>\"]", config, StringComparison.Ordinal);
        Assert.Contains("user: \"haetae\", password: \"app-secret\"", config, StringComparison.Ordinal);
        Assert.Contains("SYS { users: [ { user: \"sys\", password: \"sys-secret\" } ] }", config, StringComparison.Ordinal);
        Assert.Contains("system_account: SYS", config, StringComparison.Ordinal);
    }

    [Fact]
    public void Quoting_escapes_quotes_and_backslashes()
    {
        Assert.Equal("\"a\\\"b\\\\c\"", NatsServerConfig.Quote("a\"b\\c"));
    }

    [Fact]
    public void More_sites_get_consecutive_addresses_and_routes_to_all_others()
    {
        var five = PlatformSpec.Local(["a", "b", "c", "d", "e"], "/x", PlatformSecrets.Generate());
        var config = NatsServerConfig.Render(five, five.Site("e"));

        Assert.Equal("127.0.0.15", five.Site("e").Address);
        Assert.Equal(4, config.Split("nats-route://").Length - 1);
        Assert.DoesNotContain("@127.0.0.15:", config, StringComparison.Ordinal);
    }
}
