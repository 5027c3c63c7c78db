using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Bench;

/// <summary>
/// Connections: <c>devices</c> idle devices connected to one node (ten per person, the most a node
/// allows), the node's memory per connection and its CPU at rest; then <c>burst</c> devices connected to
/// one site that burns, all reconnecting at once to the others, timed until every one is live again and
/// has the message sent to its chat meanwhile.
/// </summary>
internal static class DevicesBench
{
    private const string Password = "bench password";

    public static async Task RunAsync(int devices, int burst, TextWriter output)
    {
        await using var cluster = await TestCluster.StartAsync(withNodes: true);
        var sites = cluster.Spec.Sites.Select(s => s.NodeUri).ToList();
        var node = cluster.Platform.Describe().Sites[0].Processes.Single(p => p.Role == "node").Pid!.Value;
        await output.WriteLineAsync($"# devices benchmark: {devices} idle devices on one node, a burst of {burst} after a fire, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");

        // Idle: the node's memory and CPU with no device, then with every device connected and quiet.
        var tokens = await PeopleAsync(sites, (devices + 9) / 10, output);
        var (rssBefore, cpuBefore) = await RestingAsync(node);
        var clock = Stopwatch.StartNew();
        var sockets = new List<ClientWebSocket>();
        var keepReading = new List<Task>();
        using (var gate = new SemaphoreSlim(64))
        {
            var connecting = Enumerable.Range(0, devices).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var socket = await ConnectLiveAsync(sites[0], tokens[i / 10]);
                    lock (sockets)
                    {
                        sockets.Add(socket);
                        keepReading.Add(DrainAsync(socket));
                    }
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(connecting);
        }

        var connectSeconds = clock.Elapsed.TotalSeconds;
        var (rssIdle, cpu) = await RestingAsync(node);
        await output.WriteLineAsync($"idle: {devices} devices live on one node in {connectSeconds:0.0} s; node memory {rssBefore / 1024.0 / 1024:0} MiB before, {rssIdle / 1024.0 / 1024:0} MiB with them: {(rssIdle - rssBefore) / 1024.0 / devices:0.0} KiB per device; CPU at rest {cpu * 100:0.0} % of a core with them, {cpuBefore * 100:0.0} % without");
        foreach (var socket in sockets)
        {
            socket.Abort();
            socket.Dispose();
        }

        await Task.WhenAll(keepReading);

        // The burst: devices at one site, with a chat each; the site burns; a message goes to every chat.
        var burstPeople = Math.Max(1, burst / 10);
        var sender = new HaetaeClient([sites[1], sites[2]]);
        var login = $"sender-{Guid.NewGuid():N}@bench.io";
        await sender.SignUpAsync(new SignUpRequest(null, login, "Sender", Password));
        await sender.SignInAsync(login, Password);
        var people = new List<(HaetaeClient Client, string ChatId)>();
        for (var i = 0; i < burstPeople; i++)
        {
            var client = new HaetaeClient([sites[0], sites[1], sites[2]]);
            var their = $"b{i}-{Guid.NewGuid():N}@bench.io";
            var user = await client.SignUpAsync(new SignUpRequest(null, their, $"B{i}", Password));
            await client.SignInAsync(their, Password);
            people.Add((client, (await sender.Chat.CreateAsync([user.Id])).Id));
        }

        var phones = new List<(HaetaeRealtime Device, string ChatId)>();
        foreach (var (client, chatId) in people)
        {
            for (var d = 0; d < 10 && phones.Count < burst; d++)
            {
                // Each device its own client (its own site cursor), all starting at the site that will burn.
                var own = new HaetaeClient([sites[0], sites[1], sites[2]]) { AccessToken = client.AccessToken };
                phones.Add((new HaetaeRealtime(own, new Dictionary<string, long> { [chatId] = 0 }), chatId));
            }
        }

        await Task.WhenAll(phones.Select(p => p.Device.Live.WaitAsync(TimeSpan.FromSeconds(120))));
        clock.Restart();
        await cluster.Platform.FireAsync(cluster.Spec.Sites[0].Name, CancellationToken.None);
        var fired = clock.Elapsed.TotalSeconds;
        var sent = await Task.WhenAll(people.Select(p => sender.Chat.SendTextAsync(p.ChatId, "after the fire")));
        var received = await Task.WhenAll(phones.Select(async p =>
        {
            await foreach (var frame in p.Device.Frames.ReadAllAsync())
            {
                if (frame is MessageFrame { Message: { Text: "after the fire" } m } && m.ChatId == p.ChatId)
                {
                    return clock.Elapsed.TotalSeconds;
                }
            }

            return double.NaN;
        }).Select(t => t.WaitAsync(TimeSpan.FromSeconds(120))));
        var reconnects = phones.Sum(p => p.Device.Reconnects);
        await output.WriteLineAsync($"burst: {phones.Count} devices at the burned site ({fired:0.0} s to burn it), {reconnects} reconnects; every one had the message sent after the fire {received.Max():0.0} s after the fire (median {received.Order().ElementAt(received.Length / 2):0.0} s); {received.Count(double.IsNaN)} missed");

        foreach (var (device, _) in phones)
        {
            await device.DisposeAsync();
        }
    }

    private static async Task<List<string>> PeopleAsync(IReadOnlyList<Uri> sites, int count, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        var tokens = new string[count];
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                using var client = new HaetaeClient([sites[0]]);
                var login = $"d{i}-{Guid.NewGuid():N}@bench.io";
                await client.SignUpAsync(new SignUpRequest(null, login, $"D{i}", Password));
                await client.SignInAsync(login, Password);
                tokens[i] = client.AccessToken!;
            }
            finally
            {
                gate.Release();
            }
        }));
        await output.WriteLineAsync($"  {count} people signed up in {clock.Elapsed.TotalSeconds:0} s");
        return [.. tokens];
    }

    /// <summary>A device's socket, resumed as a new device and live.</summary>
    private static async Task<ClientWebSocket> ConnectLiveAsync(Uri site, string token)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        await socket.ConnectAsync(new Uri($"ws://{site.Authority}/api/realtime?access_token={Uri.EscapeDataString(token)}"), CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes("{\"type\":\"resume\",\"chats\":null}"), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[4096];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"the node closed a device: {socket.CloseStatusDescription}");
            }

            if (Encoding.UTF8.GetString(buffer, 0, result.Count).Contains("\"type\":\"live\"", StringComparison.Ordinal))
            {
                return socket;
            }
        }
    }

    /// <summary>Keeps reading (so that pings are answered) until the socket ends.</summary>
    private static async Task DrainAsync(ClientWebSocket socket)
    {
        var buffer = new byte[256];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                await socket.ReceiveAsync(buffer, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Closed.
        }
    }

    /// <summary>The node's resident memory after 10 s of quiet, and the share of a core it used in the 30 s after.</summary>
    private static async Task<(long Rss, double Cpu)> RestingAsync(int pid)
    {
        await Task.Delay(TimeSpan.FromSeconds(10));
        var rss = Rss(pid);
        var before = CpuTicks(pid);
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(30));
        var ticks = CpuTicks(pid) - before;
        return (rss, ticks / 100.0 / clock.Elapsed.TotalSeconds);
    }

    private static long Rss(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;

    /// <summary>User and system time of the process, in clock ticks (100 a second on Linux).</summary>
    private static long CpuTicks(int pid)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }
}
