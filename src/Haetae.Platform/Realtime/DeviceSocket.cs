using System.Net.WebSockets;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Identity;

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

    public const int MaxFirstFrameBytes = 64 * 1024;

    /// <summary>The largest frame a device may send after its first (a message's text fits many times over).</summary>
    public const int MaxFrameBytes = 64 * 1024;

    /// <summary>What an idle device's socket keeps to read its next frame with (a send frame of a short message fits).</summary>
    private const int SmallFrameBytes = 4 * 1024;

    private readonly WebSocket _socket;
    private readonly CancellationTokenSource _closing;
    private readonly IDisposable _signOut;

    // A WebSocket takes one send at a time: frames from the session and answers to the device's sends take turns.
    private readonly SemaphoreSlim _sending = new(1, 1);

    public DeviceSocket(WebSocket socket, HotCaches caches, string sessionId, TimeSpan lifetime, CancellationToken aborted)
    {
        _socket = socket;
        _closing = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        _closing.CancelAfter(lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero);
        // Told by the node's watch of sign-outs, as it sees one: nothing to ask while the device is idle.
        _signOut = caches.OnSignOut(sessionId, () =>
        {
            try
            {
                _closing.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The connection had ended already.
            }
        });
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
        // Borrowed, not kept: ten thousand devices must not each hold a first frame's worth of memory.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(MaxFirstFrameBytes);
        try
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await _socket.ReceiveAsync(buffer.AsMemory(length, MaxFirstFrameBytes - length), timeout.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage && result.MessageType == WebSocketMessageType.Text && length < MaxFirstFrameBytes);

            if (result.MessageType != WebSocketMessageType.Text || !result.EndOfMessage)
            {
                await _socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, $"the first frame must be {expected} of at most {MaxFirstFrameBytes / 1024} KiB", Closing);
                return null;
            }

            try
            {
                if (JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), HaetaeJson.Options) is { } frame && valid(frame))
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
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task SendAsync<TFrame>(TFrame frame)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(frame, HaetaeJson.Options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Closing);
        timeout.CancelAfter(SendTimeout);
        await _sending.WaitAsync(timeout.Token);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, timeout.Token);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>
    /// Hands each frame the device sends after its first to <paramref name="handle"/>, one at a time in the
    /// order they came, until the device closes; then the connection ends. A frame that is not JSON of
    /// <typeparamref name="T"/>, or larger than <see cref="MaxFrameBytes"/>, closes the connection.
    /// </summary>
    public async Task ReadFramesAsync<T>(Func<T, Task> handle)
        where T : class
    {
        // Idle devices are the many: each waits with a small buffer; a larger frame borrows one while it is read.
        var small = new byte[SmallFrameBytes];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(small.AsMemory(), Closing);
                var buffer = small;
                var length = result.Count;
                byte[]? rented = null;
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close && length < MaxFrameBytes)
                {
                    if (rented is null)
                    {
                        rented = System.Buffers.ArrayPool<byte>.Shared.Rent(MaxFrameBytes);
                        small.AsSpan(0, length).CopyTo(rented);
                        buffer = rented;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length, MaxFrameBytes - length), Closing);
                    length += result.Count;
                }

                try
                {
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    if (!result.EndOfMessage || result.MessageType != WebSocketMessageType.Text)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, $"frames are JSON text of at most {MaxFrameBytes / 1024} KiB", Closing);
                        break;
                    }

                    T? frame;
                    try
                    {
                        frame = JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), HaetaeJson.Options);
                    }
                    catch (JsonException)
                    {
                        frame = null;
                    }

                    if (frame is null)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.InvalidPayloadData, "a frame must be a JSON object", Closing);
                        break;
                    }

                    await handle(frame);
                }
                finally
                {
                    if (rented is not null)
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                    }
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

    public void Dispose()
    {
        _signOut.Dispose();
        _closing.Dispose();
        _sending.Dispose();
    }
}
