using System.Threading.Channels;

namespace Haetae.Platform.Realtime;

/// <summary>
/// The events waiting for one device. Bounded: a device too slow to keep up is disconnected rather than
/// allowed to grow the node's memory, and catches up by sequence when it resumes.
/// </summary>
public sealed class DeviceQueue<TEvent>(int capacity)
{
    private readonly Channel<TEvent> _events = Channel.CreateBounded<TEvent>(new BoundedChannelOptions(capacity) { SingleReader = true });

    /// <summary>Queues <paramref name="e"/>; false when the queue was full (the reader then ends with <see cref="ChannelClosedException"/>) or closed.</summary>
    public bool Offer(TEvent e)
    {
        if (_events.Writer.TryWrite(e))
        {
            return true;
        }

        _events.Writer.TryComplete(new ChannelClosedException("the device fell too far behind"));
        return false;
    }

    /// <summary>The queued events in order, until <see cref="Close"/> or an overflow (which throws <see cref="ChannelClosedException"/>).</summary>
    public IAsyncEnumerable<TEvent> ReadAllAsync(CancellationToken cancellationToken) => _events.Reader.ReadAllAsync(cancellationToken);

    public void Close() => _events.Writer.TryComplete();
}
