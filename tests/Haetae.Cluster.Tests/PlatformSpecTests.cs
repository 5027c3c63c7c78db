using Haetae.Platform.Monitoring;
namespace Haetae.Cluster.Tests;

public sealed class PlatformSpecTests
{
    [Theory]
    [InlineData("pangyo,chuncheon", "at least three sites are needed for three replicas in three data centers (got 2)")]
    [InlineData("pangyo,chuncheon,pangyo", "site 'pangyo' is named twice")]
    [InlineData("pangyo,Chuncheon,ansan", "site name 'Chuncheon' must be lower-case letters, digits and '-', starting with a letter, at most 32 characters")]
    [InlineData("pangyo,chuncheon,9ansan", "site name '9ansan' must be lower-case letters, digits and '-', starting with a letter, at most 32 characters")]
    public void Invalid_site_lists_are_refused_with_a_clear_message(string sites, string message)
    {
        var error = Assert.Throws<PlatformException>(() => PlatformSpec.ValidateNames(sites.Split(',')));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Unknown_site_names_the_known_ones()
    {
        var spec = PlatformSpec.Local(PlatformSpec.DefaultSiteNames, "/x", PlatformSecrets.Generate());

        var error = Assert.Throws<PlatformException>(() => spec.Site("mars"));

        Assert.Equal("unknown site 'mars' (sites: pangyo, chuncheon, ansan)", error.Message);
    }

    [Fact]
    public void Client_urls_put_the_local_site_first()
    {
        var spec = PlatformSpec.Local(PlatformSpec.DefaultSiteNames, "/x", PlatformSecrets.Generate());

        Assert.Equal(
            ["nats://127.0.0.13:4222", "nats://127.0.0.11:4222", "nats://127.0.0.12:4222"],
            spec.ClientUrls("ansan"));
    }

    [Fact]
    public void Ephemeral_layouts_never_reuse_a_port()
    {
        var first = PlatformSpec.Ephemeral(PlatformSpec.DefaultSiteNames, "/a");
        var second = PlatformSpec.Ephemeral(PlatformSpec.DefaultSiteNames, "/b");
        var ports = first.Sites.Concat(second.Sites).SelectMany(s => new[] { s.ClientPort, s.ClusterPort, s.MonitorPort, s.NodePort }).ToList();

        Assert.Equal(24, ports.Count);
        Assert.Equal(ports.Count, ports.Distinct().Count());
    }

    [Fact]
    public void Generated_secrets_differ_every_time()
    {
        var a = PlatformSecrets.Generate();
        var b = PlatformSecrets.Generate();

        Assert.Equal(48, a.AppPassword.Length);
        Assert.Equal(3, new[] { a.AppPassword, a.SystemPassword, a.RoutePassword }.Distinct().Count());
        Assert.NotEqual(a.AppPassword, b.AppPassword);
    }
}
