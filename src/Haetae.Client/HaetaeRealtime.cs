using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Haetae.Contracts;

namespace Haetae.Client;

/// <summary>
/// A device's realtime connection. It connects to the client's current site, resumes every chat from the
/// last sequence it has seen, and when the socket drops it moves to the next site and resumes again, so
/// the frames it hands out have no gap and no duplicate per chat.
/// </summary>
public sealed class HaetaeRealtime : IAsyncDisposable
{
    private readonly HaetaeClient _client;
    private readonly Dictionary<string, long> _lastSeen;
    private readonly Channel<RealtimeFrame> _frames = Channel.CreateUnbounded<RealtimeFrame>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _live = new(TaskCreationOptions.RunContinuationsAsynchronously);

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

                Volatile.Read(ref _live).TrySetResult();
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
    }
}
