using System.Net.Http.Json;

namespace Haetae.Cluster;

/// <summary>
/// The sample fleet of scooters as the local platform runs it: its own process on its own address with
/// its own store, outside every site. It registers its scooters' keys with the platform (admin key),
/// takes the nodes' network calls (<see cref="PlatformSecrets.FleetSecret"/>), uploads the locks its
/// scooters sign, and answers riders' phones on its short-range channel. The drill and tests cut the
/// scooters' network through its /faults.
/// </summary>
public sealed class FleetApp(PlatformSpec spec, Action<string> log)
{
    private readonly SampleProcess _process = new("fleet", BuiltPrograms.Fleet(), spec.FleetUri, spec.LogDirectory, log);

    /// <summary>How many scooters the local fleet has.</summary>
    public const int Scooters = 12;

    public Uri Uri => spec.FleetUri;

    /// <summary>What every node is told about the fleet (Haetae:Rides:Fleet).</summary>
    public static IEnumerable<KeyValuePair<string, string>> NodeSettings(PlatformSpec spec) =>
    [
        new("Haetae__Rides__Fleet__Uri", spec.FleetUri.ToString()),
        new("Haetae__Rides__Fleet__Secret", spec.Secrets.FleetSecret),
    ];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(spec.FleetDirectory);
        var settings = new Dictionary<string, string>
        {
            ["Fleet__Database"] = Path.Combine(spec.FleetDirectory, "fleet.db"),
            ["Fleet__Secret"] = spec.Secrets.FleetSecret,
            ["Fleet__AdminKey"] = spec.Secrets.AdminKey,
            ["Fleet__Scooters"] = Scooters.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        for (var i = 0; i < spec.Sites.Count; i++)
        {
            settings[$"Fleet__Sites__{i}"] = spec.Sites[i].NodeUri.ToString();
        }

        return _process.StartAsync(settings, cancellationToken);
    }

    public Task StopAsync(TimeSpan grace) => _process.StopAsync(grace);

    /// <summary>Cuts the scooters' network to the platform (both ways), or restores it; their short-range channel keeps working.</summary>
    public async Task SetNetworkAsync(bool down, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = spec.FleetUri, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", spec.Secrets.FleetSecret);
        (await http.PostAsJsonAsync("faults", new { networkDown = down }, cancellationToken)).EnsureSuccessStatusCode();
    }
}
