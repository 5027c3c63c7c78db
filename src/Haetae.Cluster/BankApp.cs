using System.Net.Http.Json;

namespace Haetae.Cluster;

/// <summary>
/// The sample bank as the local platform runs it: its own process on its own address with its own
/// store, outside every site, so a fire at a site never reaches it. Nodes call it with
/// <see cref="PlatformSecrets.BankSecret"/>; the drill and tests make it slow or down through its /faults.
/// </summary>
public sealed class BankApp(PlatformSpec spec, Action<string> log)
{
    private readonly SampleProcess _process = new("bank", BuiltPrograms.Bank(), spec.BankUri, spec.LogDirectory, log);

    /// <summary>What the bank opens each person's account with, in won.</summary>
    public const long OpeningBalance = 1_000_000;

    public Uri Uri => spec.BankUri;

    public bool IsRunning => _process.IsRunning;

    /// <summary>What every node is told about the bank (Haetae:Pay:Bank).</summary>
    public static IEnumerable<KeyValuePair<string, string>> NodeSettings(PlatformSpec spec) =>
    [
        new("Haetae__Pay__Bank__Uri", spec.BankUri.ToString()),
        new("Haetae__Pay__Bank__Secret", spec.Secrets.BankSecret),
    ];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(spec.BankDirectory);
        return _process.StartAsync(
            new Dictionary<string, string>
            {
                ["Bank__Database"] = Path.Combine(spec.BankDirectory, "bank.db"),
                ["Bank__Secret"] = spec.Secrets.BankSecret,
                ["Bank__OpeningBalance"] = OpeningBalance.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            cancellationToken);
    }

    public Task StopAsync(TimeSpan grace) => _process.StopAsync(grace);

    /// <summary>Makes the bank answer every call after <paramref name="delay"/>, or refuse every call with a 503 (<paramref name="down"/>), until told otherwise.</summary>
    public async Task SetFaultsAsync(bool down, TimeSpan delay, CancellationToken cancellationToken)
    {
        using var http = Http();
        (await http.PostAsJsonAsync("faults", new { down, delayMs = (int)delay.TotalMilliseconds }, cancellationToken)).EnsureSuccessStatusCode();
    }

    /// <summary>The balance of a person's account at the bank (the bank opens it at its first operation); null when the bank has never heard of it.</summary>
    public async Task<long?> BalanceAsync(string account, CancellationToken cancellationToken)
    {
        using var http = Http();
        using var response = await http.GetAsync($"v1/accounts/{Uri.EscapeDataString(account)}", cancellationToken);
        return response.StatusCode == System.Net.HttpStatusCode.NotFound
            ? null
            : (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(cancellationToken)).GetProperty("balance").GetInt64();
    }

    private HttpClient Http() => new()
    {
        BaseAddress = spec.BankUri,
        Timeout = TimeSpan.FromSeconds(10),
        DefaultRequestHeaders = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", spec.Secrets.BankSecret) },
    };
}
