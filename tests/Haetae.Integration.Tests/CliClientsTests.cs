using System.Text.Json;
using Haetae.Cli;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>`haetae clients`, `haetae scopes` and `haetae pay audit` against a running platform: through its control socket and any site's admin API.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class CliClientsTests(SharedClusterFixture fixture)
{
    [Fact]
    public async Task Apps_are_registered_listed_and_removed_and_bad_registrations_are_one_line_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        var cluster = fixture.Cluster;
        await using var control = await cluster.ControlAsUpLeavesItAsync(ct);
        var id = $"cli-{Guid.NewGuid():N}"[..16];

        var scope = await RunAsync(cluster.Home, "scopes", "register", "cli.api", "--audience", "cli", "--name", "CLI API");
        Assert.Equal(0, scope.ExitCode);
        var registered = await RunAsync(cluster.Home, "clients", "register", id, "--name", "은행 Bank", "--redirect-uri", "https://bank.example/cb", "--scope", "cli.api");
        Assert.Equal(0, registered.ExitCode);
        var view = JsonDocument.Parse(registered.Output[..(registered.Output.LastIndexOf('}') + 1)]).RootElement;
        Assert.Equal(id, view.GetProperty("clientId").GetString());
        Assert.Equal("은행 Bank", view.GetProperty("displayName").GetString());
        Assert.True(view.GetProperty("clientSecret").GetString()!.Length >= 32);

        var listed = await RunAsync(cluster.Home, "clients", "list");
        Assert.Contains($"\"clientId\": \"{id}\"", listed.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(view.GetProperty("clientSecret").GetString()!, listed.Output, StringComparison.Ordinal);

        var bad = await RunAsync(cluster.Home, "clients", "register", "bad-app", "--name", "Bad", "--redirect-uri", "http://bank.example/cb");
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal("haetae: refused (400): redirectUris: 'http://bank.example/cb' must use https (http is allowed only for loopback addresses)\n", bad.Error);

        Assert.Equal(0, (await RunAsync(cluster.Home, "clients", "remove", id)).ExitCode);
        var gone = await RunAsync(cluster.Home, "clients", "remove", id);
        Assert.Equal($"haetae: refused (404): no client '{id}'\n", gone.Error);
    }

    [Fact]
    public async Task The_pay_audit_reads_the_whole_ledger_at_a_site_and_says_it_is_sound()
    {
        var ct = TestContext.Current.CancellationToken;
        var cluster = fixture.Cluster;
        await using var control = await cluster.ControlAsUpLeavesItAsync(ct);
        await using var nats = await cluster.ConnectAsync();
        var ledger = new Haetae.Pay.Ledger(nats, TimeProvider.System);
        var run = Guid.NewGuid().ToString("N")[..8];
        await ledger.OpenAsync($"bank-{run}", Haetae.Pay.AccountFlags.None, ct);
        await ledger.OpenAsync($"w-{run}", Haetae.Pay.AccountFlags.DebitsMustNotExceedCredits, ct);
        await ledger.ExecuteAsync(new Haetae.Pay.Transfer($"top-{run}", $"bank-{run}", $"w-{run}", 5_000, Haetae.Pay.TransferKind.Posted, "top-up", DateTimeOffset.UtcNow), ct);

        var audit = await RunAsync(cluster.Home, "pay", "audit");

        Assert.Equal(0, audit.ExitCode);
        Assert.Matches(@"^[1-9][0-9]* transfers, [1-9][0-9]* accounts, [1-9][0-9]* entries; balances sum to ₩0; ", audit.Output);
        Assert.EndsWith("The ledger is sound.\n", audit.Output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string home, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await HaetaeCommand.RunAsync([.. args, "--home", home], output, error, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }
}
