using System.Diagnostics;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>
/// A sample program that runs beside the platform as a process of its own (the exchange, the bank):
/// started with its settings in the environment, ready once it answers /healthz, stopped with a grace.
/// </summary>
public sealed class SampleProcess(string name, string program, Uri uri, string logDirectory, Action<string> log)
{
    private Process? _process;

    public Uri Uri => uri;

    public bool IsRunning => _process is { } p && !ChildProcesses.HasExited(p);

    /// <summary>Starts the program and waits until it answers /healthz.</summary>
    public async Task StartAsync(IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(settings)
        {
            ["ASPNETCORE_URLS"] = uri.ToString().TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        var logPath = Path.Combine(logDirectory, $"{name}.log");
        _process = await ChildProcesses.StartAsync("dotnet", [program], logPath, environment);
        log($"{name}: started (pid {_process.Id}) at {uri}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(uri, "healthz"), cancellationToken)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }

            if (ChildProcesses.HasExited(_process) || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new PlatformException($"the {name} did not start within 30 s; see {logPath}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    public async Task StopAsync(TimeSpan grace)
    {
        if (_process is { } process)
        {
            await ChildProcesses.StopAsync(process, grace);
            process.Dispose();
            _process = null;
        }
    }
}
