using System.Net.WebSockets;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;

namespace Haetae.Platform.Realtime;

/// <summary>
/// One device's WebSocket, for as long as its sign-in lasts: it closes when the token expires, when the
/// session is signed out at any site, when the device stops reading, or when the device closes it.
/// Frames are JSON in the one wire shape (<see cref="HaetaeJson.Options"/>); the first frame the device
/// sends says where it resumes.
/// </summary>
public sealed class DeviceSocket : IDisposable
{
    /// <summary>A frame the device does not take within this time ends the session (it resumes when it reads again).</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a device has to send its first frame after connecting.</summary>
    public static readonly TimeSpan FirstFrameTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How often an open socket checks that its session is not signed out (against the node's cache of sign-outs).</summary>
    public static readonly TimeSpan SignOutCheck = TimeSpan.FromSeconds(2);

    public const int MaxFirstFrameBytes = 64 * 1024;

    private readonly WebSocket _socket;
    private readonly CancellationTokenSource _closing;

    public DeviceSocket(WebSocket socket, Accounts accounts, string sessionId, TimeSpan lifetime, CancellationToken aborted)
    {
        _socket = socket;
        _closing = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        _closing.CancelAfter(lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero);
        _ = EndOnSignOutAsync(accounts, sessionId);
    }

    /// <summary>Cancelled when the connection ends, for any of the reasons above.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>
    /// The device's first frame as <typeparamref name="T"/>, if it is one <paramref name="valid"/> accepts;
    /// otherwise the socket is closed with <paramref name="expected"/> as the reason and the result is null.
    /// </summary>
    public async Task<T?> ReadFirstAsync<T>(Func<T, bool> valid, string expected)
        where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Closing);
        timeout.CancelAfter(FirstFrameTimeout);
        var buffer = new byte[MaxFirstFrameBytes];
        var result = await _socket.ReceiveAsync(buffer, timeout.Token);
        if (result.MessageType != WebSocketMessageType.Text || !result.EndOfMessage)
        {
            await _socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, $"the first frame must be {expected} of at most {MaxFirstFrameBytes / 1024} KiB", Closing);
            return null;
        }

        try
        {
            if (JsonSerializer.Deserialize<T>(buffer.AsSpan(0, result.Count), HaetaeJson.Options) is { } frame && valid(frame))
            {
                return frame;
            }
        }
        catch (JsonException)
        {
        }

        await _socket.CloseAsync(WebSocketCloseStatus.InvalidPayloadData, $"the first frame must be {expected}", Closing);
        return null;
    }

    public async Task SendAsync<TFrame>(TFrame frame)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Closing);
        timeout.CancelAfter(SendTimeout);
        await _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame, HaetaeJson.Options), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>Reads (and drops) what the device sends after its first frame until it closes; then the connection ends.</summary>
    public async Task ReadUntilClosedAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(buffer, Closing);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }

        await _closing.CancelAsync();
    }

    /// <summary>Ends the connection now.</summary>
    public Task CloseAsync() => _closing.CancelAsync();

    public void Dispose() => _closing.Dispose();

    private async Task EndOnSignOutAsync(Accounts accounts, string sessionId)
    {
        try
        {
            using var tick = new PeriodicTimer(SignOutCheck);
            while (await tick.WaitForNextTickAsync(Closing))
            {
                try
                {
                    if (await accounts.IsRevokedAsync(sessionId, Closing))
                    {
                        await _closing.CancelAsync();
                    }
                }
                catch (Exception e) when (StoreFailures.IsTransient(e) && !Closing.IsCancellationRequested)
                {
                    // The store did not answer this time: ask again on the next tick.
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended.
        }
    }
}
