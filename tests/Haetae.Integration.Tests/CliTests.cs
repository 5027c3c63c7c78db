using Haetae.Cli;
using Haetae.Cluster;
using Haetae.Platform.Monitoring;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>The `haetae` commands against a running platform, through its control socket.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task Status_fire_and_rebuild_work_through_the_control_socket_and_errors_are_one_line()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: false, cancellationToken: ct);
        await using var control = await ControlServer.StartAsync(cluster.Platform, ct);
        var site = cluster.Spec.Sites[2].Name;

        var status = await RunAsync(cluster.Home, "status");
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("Full redundancy: yes", status.Output, StringComparison.Ordinal);
        Assert.Contains("JetStream meta leader: ", status.Output, StringComparison.Ordinal);
        var version = await NatsServerBinary.CheckAsync(NatsServerBinary.Locate(), ct);
        Assert.All(cluster.Spec.Sites, s => Assert.Matches($"(?m)^{s.Name} +up +{System.Text.RegularExpressions.Regex.Escape(version.ToString())} fsync ", status.Output));

        var unknown = await RunAsync(cluster.Home, "fire", "mars");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal($"haetae: unknown site 'mars' (sites: {string.Join(", ", cluster.Spec.Sites.Select(s => s.Name))})\n", unknown.Error);

        var fire = await RunAsync(cluster.Home, "fire", site);
        Assert.Equal(0, fire.ExitCode);
        Assert.Contains($"site '{site}' burned", fire.Output, StringComparison.Ordinal);

        var again = await RunAsync(cluster.Home, "fire", site);
        Assert.Equal(1, again.ExitCode);
        Assert.Equal($"haetae: site '{site}' is already burning\n", again.Error);

        var degraded = await RunAsync(cluster.Home, "status");
        Assert.Contains("Full redundancy: no", degraded.Output, StringComparison.Ordinal);
        Assert.Contains($"{site,-12} burned", degraded.Output, StringComparison.Ordinal);

        var rebuild = await RunAsync(cluster.Home, "rebuild", site);
        Assert.Equal(0, rebuild.ExitCode);
        Assert.Matches($"site '{site}' rebuilt: every asset has 3 caught-up replicas after [0-9.]+ s", rebuild.Output);
    }

    [Fact]
    public async Task Commands_without_a_running_platform_fail_with_one_line()
    {
        var home = Path.Combine(Path.GetTempPath(), $"haetae-cli-{Guid.NewGuid():N}");
        foreach (var command in new[] { new[] { "status" }, ["fire", "pangyo"], ["rebuild", "pangyo"], ["clients", "list"], ["scopes", "register", "x.api", "--audience", "x"] })
        {
            var result = await RunAsync(home, command);

            Assert.Equal(1, result.ExitCode);
            Assert.Equal($"haetae: {ControlClient.NotRunning}\n", result.Error);
        }

        Assert.False(Directory.Exists(home));
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string home, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await HaetaeCommand.RunAsync([.. args, "--home", home], output, error, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }
}
