using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Haetae.Contracts;

namespace Haetae.Platform.Monitoring;

/// <summary>A command sent to the process that runs the local platform.</summary>
public sealed record ControlRequest(string Command, string? Site = null);

/// <summary>The answer: ok or a one-line error, the platform's description, and how long the command took.</summary>
public sealed record ControlReply(bool Ok, string Message, PlatformDescription? Platform = null, double? ElapsedSeconds = null);

/// <summary>Talks to a running platform's control server (haetae up).</summary>
public static class ControlClient
{
    public const string NotRunning = "no running platform (start one with ./haetae up)";

    /// <summary>Sends one command and returns the reply; a failed command becomes a <see cref="PlatformException"/>.</summary>
    public static async Task<ControlReply> SendAsync(string socketPath, ControlRequest request, CancellationToken cancellationToken)
    {
        using var socket = await ConnectAsync(socketPath, cancellationToken)
            ?? throw new PlatformException(NotRunning);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
        await writer.WriteLineAsync(JsonSerializer.Serialize(request, HaetaeJson.Options).AsMemory(), cancellationToken);
        var line = await reader.ReadLineAsync(cancellationToken)
            ?? throw new PlatformException("the running platform closed the control connection without answering");
        var reply = JsonSerializer.Deserialize<ControlReply>(line, HaetaeJson.Options)
            ?? throw new PlatformException("the running platform sent an empty answer");
        return reply.Ok ? reply : throw new PlatformException(reply.Message);
    }

    /// <summary>Fails if a platform already answers on <paramref name="socketPath"/>; removes a stale socket file.</summary>
    public static async Task EnsureNoneRunningAsync(string socketPath, CancellationToken cancellationToken)
    {
        using var socket = await ConnectAsync(socketPath, cancellationToken);
        if (socket is not null)
        {
            throw new PlatformException($"a platform is already running here (control socket {socketPath}); stop it with Ctrl+C first");
        }

        if (File.Exists(socketPath))
        {
            File.Delete(socketPath);
        }
    }

    private static async Task<Socket?> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        if (!File.Exists(socketPath))
        {
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }
}
