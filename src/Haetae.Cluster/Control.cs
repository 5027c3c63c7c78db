using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>
/// The local platform's control channel: a Unix socket in the platform's folder (owner-only), through
/// which `haetae fire`, `rebuild` and `status` in another terminal reach the `haetae up` that owns the
/// processes. The processes stay children of `up`, so nothing is orphaned when either side exits.
/// </summary>
public sealed class ControlServer : IAsyncDisposable
{

    private readonly LocalPlatform _platform;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private ControlServer(LocalPlatform platform, Socket listener)
    {
        _platform = platform;
        _listener = listener;
        _acceptLoop = AcceptAsync(_stop.Token);
    }

    public static async Task<ControlServer> StartAsync(LocalPlatform platform, CancellationToken cancellationToken)
    {
        var path = platform.Spec.ControlSocketPath;
        await ControlClient.EnsureNoneRunningAsync(path, cancellationToken);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        listener.Listen(16);
        return new ControlServer(platform, listener);
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(connection, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket connection, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
        ControlReply reply;
        ControlRequest? request = null;
        try
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            request = line is null ? null : JsonSerializer.Deserialize<ControlRequest>(line, HaetaeJson.Options);
            reply = request is null
                ? new ControlReply(false, "empty request")
                : await ExecuteAsync(request, cancellationToken);
        }
        catch (PlatformException e)
        {
            reply = new ControlReply(false, e.Message);
        }
        catch (JsonException)
        {
            reply = new ControlReply(false, "malformed request");
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
            reply = new ControlReply(false, "the platform is stopping");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return;
        }
        catch (Exception e)
        {
            // A bug, but the operator still gets one line rather than a silent hang-up.
            reply = new ControlReply(false, $"{request?.Command ?? "command"} failed: {e.GetType().Name}: {e.Message}");
        }

        try
        {
            await writer.WriteLineAsync(JsonSerializer.Serialize(reply, HaetaeJson.Options).AsMemory(), cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // The client went away; the command itself has been carried out.
        }
    }

    private async Task<ControlReply> ExecuteAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        switch (request.Command)
        {
            case "describe":
                return new ControlReply(true, "ok", _platform.Describe());
            case "fire":
                await _platform.FireAsync(RequireSite(request), cancellationToken);
                return new ControlReply(true, $"site '{request.Site}' burned: processes killed, data deleted", _platform.Describe());
            case "evacuate":
                var evacuated = await _platform.EvacuateAsync(RequireSite(request), cancellationToken);
                return new ControlReply(
                    true,
                    $"site '{request.Site}' evacuated: nothing is led there, its node refuses work (after {evacuated.TotalSeconds:0.0} s); a fire there now pauses no write",
                    _platform.Describe(),
                    evacuated.TotalSeconds);
            case "rebuild":
                var elapsed = await _platform.RebuildAsync(RequireSite(request), cancellationToken);
                return new ControlReply(
                    true,
                    $"site '{request.Site}' rebuilt: every asset has {Haetae.Contracts.Assets.Replicas} caught-up replicas after {elapsed.TotalSeconds:0.0} s",
                    _platform.Describe(),
                    elapsed.TotalSeconds);
            default:
                return new ControlReply(false, $"unknown command '{request.Command}'");
        }
    }

    private static string RequireSite(ControlRequest request) =>
        string.IsNullOrWhiteSpace(request.Site) ? throw new PlatformException("a site name is required") : request.Site;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        var path = _platform.Spec.ControlSocketPath;
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        _stop.Dispose();
    }
}
