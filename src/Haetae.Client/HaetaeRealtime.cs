using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Haetae.Contracts;

namespace Haetae.Client;

/// <summary>
/// A device's realtime connection. It connects to the client's current site, resumes every chat from the
/// last sequence it has seen, and when the socket drops it moves to the next site and resumes again, so
/// the frames it hands out have no gap and no duplicate per chat. Messages can be sent over it
/// (<see cref="SendAsync"/>): many in flight at once, answered in order; what a dropped connection did not
/// answer is sent again at the next site with the same request ids, so each is stored once.
/// </summary>
public sealed class HaetaeRealtime : IAsyncDisposable
{
    private readonly HaetaeClient _client;
    private readonly Dictionary<string, long> _lastSeen;
    private readonly Channel<RealtimeFrame> _frames = Channel.CreateUnbounded<RealtimeFrame>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _live = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Sends not yet answered, oldest first; the socket they go out on once the connection is live (null meanwhile).</summary>
    private readonly List<PendingSend> _pending = [];
    private ClientWebSocket? _liveSocket;

    /// <summary>One write at a time on the socket; a reconnect's resends hold it until all are out, so order is kept.</summary>
    private readonly SemaphoreSlim _writing = new(1, 1);

    private sealed record PendingSend(string RequestId, byte[] Frame, TaskCompletionSource<MessageView> Done);

    /// <summary>
    /// False until the device has been live once (or was given where it stood): until then it resumes as a
    /// new device, from now; after, a chat missing from its positions is one it has not heard of yet.
    /// </summary>
    private volatile bool _knowsItsChats;

    /// <param name="lastSeen">The last sequence this device saw in each chat, from <see cref="LastSeen"/> (null for a new device: it starts from now).</param>
    public HaetaeRealtime(HaetaeClient client, IReadOnlyDictionary<string, long>? lastSeen = null)
    {
        _client = client;
        _lastSeen = new Dictionary<string, long>(lastSeen ?? new Dictionary<string, long>());
        _knowsItsChats = lastSeen is not null;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Messages and receipts, in order per chat.</summary>
    public ChannelReader<RealtimeFrame> Frames => _frames.Reader;

    /// <summary>How many times the connection was made again (after a drop or a site loss).</summary>
    public int Reconnects { get; private set; }

    /// <summary>Completes when the current connection has caught up and is live.</summary>
    public Task Live => Volatile.Read(ref _live).Task;

    public IReadOnlyDictionary<string, long> LastSeen
    {
        get
        {
            lock (_lastSeen)
            {
                return new Dictionary<string, long>(_lastSeen);
            }
        }
    }

    /// <summary>
    /// Sends a message over the connection (text or a photo id, as POST /api/chats/{chatId}/messages): the
    /// message as stored (on a majority of sites, on disk), with its sequence. Refusals are
    /// <see cref="HaetaeApiException"/>s; a dropped connection sends it again, with the same request id.
    /// </summary>
    public async Task<MessageView> SendAsync(string chatId, string? text, string? photoId = null, string? requestId = null, CancellationToken cancellationToken = default)
    {
        var id = requestId ?? HaetaeClient.NewRequestId();
        var pending = new PendingSend(id, JsonSerializer.SerializeToUtf8Bytes(new DeviceFrame("send", id, chatId, text, photoId), HaetaeJson.Options), new TaskCompletionSource<MessageView>(TaskCreationOptions.RunContinuationsAsynchronously));
        ClientWebSocket? socket;
        lock (_pending)
        {
            _pending.Add(pending);
            socket = _liveSocket;
        }

        if (socket is not null)
        {
            await WriteAsync(socket, [pending], cancellationToken);
        }

        try
        {
            return await pending.Done.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            lock (_pending)
            {
                _pending.Remove(pending);
            }
        }
    }

    /// <summary>Writes the sends in order; a socket that fails is left to the reconnect, which sends them again.</summary>
    private async Task WriteAsync(ClientWebSocket socket, IReadOnlyList<PendingSend> sends, CancellationToken cancellationToken, bool locked = false)
    {
        if (!locked)
        {
            await _writing.WaitAsync(cancellationToken);
        }

        try
        {
            foreach (var send in sends)
            {
                await socket.SendAsync(send.Frame, WebSocketMessageType.Text, true, cancellationToken);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException or IOException)
        {
            // The connection is going: the next one sends these again.
        }
        finally
        {
            if (!locked)
            {
                _writing.Release();
            }
        }
    }

    /// <summary>The connection is live: what is pending goes out first, in order, then new sends go straight out.</summary>
    private async Task GoLiveAsync(ClientWebSocket socket, CancellationToken stop)
    {
        await _writing.WaitAsync(stop);
        try
        {
            PendingSend[] again;
            lock (_pending)
            {
                again = [.. _pending];
                _liveSocket = socket;
            }

            await WriteAsync(socket, again, stop, locked: true);
        }
        finally
        {
            _writing.Release();
        }
    }

    private void Answered(RealtimeFrame frame)
    {
        var (requestId, message, refused) = frame switch
        {
            SentFrame sent => (sent.RequestId, sent.Message, (RefusedFrame?)null),
            RefusedFrame no => (no.RequestId, null, no),
            _ => (null, null, null),
        };
        PendingSend? pending;
        ClientWebSocket? socket;
        lock (_pending)
        {
            pending = _pending.FirstOrDefault(p => p.RequestId == requestId);
            socket = _liveSocket;
        }

        if (pending is null)
        {
            return;
        }

        if (message is not null)
        {
            pending.Done.TrySetResult(message);
        }
        else if (refused is { Status: >= 500 } && socket is not null)
        {
            // The store did not answer in time: the same send again, shortly.
            _ = Task.Delay(200).ContinueWith(_ => WriteAsync(socket, [pending], CancellationToken.None), TaskScheduler.Default);
        }
        else if (refused is not null)
        {
            pending.Done.TrySetException(new HaetaeApiException((System.Net.HttpStatusCode)refused.Status, refused.Title, refused.Detail));
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var attempt = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var socket = new ClientWebSocket();
                socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(5);
                var site = _client.CurrentSite;
                var uri = new UriBuilder(new Uri(site, "api/realtime")) { Scheme = site.Scheme == "https" ? "wss" : "ws", Query = $"access_token={Uri.EscapeDataString(_client.AccessToken ?? "")}" }.Uri;
                using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    connectTimeout.CancelAfter(TimeSpan.FromSeconds(3));
                    await socket.ConnectAsync(uri, connectTimeout.Token);
                }

                await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new ResumeFrame("resume", _knowsItsChats ? LastSeen : null), HaetaeJson.Options), WebSocketMessageType.Text, true, stop);
                attempt = 0;
                await ReceiveAsync(socket, stop);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or JsonException)
            {
                // Dropped, refused, timed out or garbled: all mean "try the next site", unless we are stopping.
            }

            if (stop.IsCancellationRequested)
            {
                break;
            }

            // The socket dropped: another site, and resume from what we have seen.
            lock (_pending)
            {
                _liveSocket = null;
            }

            Interlocked.Exchange(ref _live, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            _client.FailOver();
            Reconnects++;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 * ++attempt)), stop).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        _frames.Writer.TryComplete();
    }

    private async Task ReceiveAsync(ClientWebSocket socket, CancellationToken stop)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (socket.State == WebSocketState.Open)
        {
            var result = await socket.ReceiveAsync(buffer, stop);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            message.Write(buffer, 0, result.Count);
            if (!result.EndOfMessage)
            {
                continue;
            }

            var frame = JsonSerializer.Deserialize<RealtimeFrame>(message.GetBuffer().AsSpan(0, (int)message.Length), HaetaeJson.Options);
            message.SetLength(0);
            if (frame is null)
            {
                continue;
            }

            if (frame is LiveFrame live)
            {
                lock (_lastSeen)
                {
                    foreach (var (chatId, position) in live.Positions)
                    {
                        _lastSeen.TryAdd(chatId, position);
                    }
                }

                _knowsItsChats = true;
                await GoLiveAsync(socket, stop);
                Volatile.Read(ref _live).TrySetResult();
                continue;
            }

            if (frame is SentFrame or RefusedFrame)
            {
                Answered(frame);
                continue;
            }

            if (frame is MessageFrame { Message: var m })
            {
                lock (_lastSeen)
                {
                    // The node sends each sequence once per connection; across reconnects, drop what we had.
                    // The frame is handed out before the sequence counts as seen, so a stop in between
                    // makes the next connection send it again rather than lose it.
                    if (_lastSeen.TryGetValue(m.ChatId, out var seen) && m.Sequence <= seen)
                    {
                        continue;
                    }

                    if (_frames.Writer.TryWrite(frame))
                    {
                        _lastSeen[m.ChatId] = m.Sequence;
                    }
                }

                continue;
            }

            _frames.Writer.TryWrite(frame);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        _writing.Dispose();
    }
}
