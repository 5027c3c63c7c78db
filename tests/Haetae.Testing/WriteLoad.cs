using System.Diagnostics;
using Haetae.Platform.Store;
using NATS.Client.JetStream;

namespace Haetae.Testing;

/// <summary>One acknowledged write as the writer saw it.</summary>
/// <param name="At">When the acknowledgement arrived, from the start of the load.</param>
/// <param name="Latency">From the first attempt to the acknowledgement (retries included).</param>
public sealed record AckedWrite(string MessageId, ulong Sequence, bool Duplicate, TimeSpan At, TimeSpan Latency);

/// <summary>
/// A writer that publishes to one subject, one message at a time, each with its own message id
/// (which is also its payload), retrying through fires with the same id; it records every
/// acknowledgement. Bounded in count and time.
/// </summary>
public sealed class WriteLoad : IAsyncDisposable
{
    private readonly List<AckedWrite> _acks = [];
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private readonly CancellationTokenSource _stop;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _loop;

    private WriteLoad(INatsJSContext js, string subject, string idPrefix, int maxMessages, TimeSpan maxDuration)
    {
        _stop = new CancellationTokenSource(maxDuration);
        _loop = Task.Run(() => RunAsync(js, subject, idPrefix, maxMessages, _stop.Token));
    }

    public static WriteLoad Start(INatsJSContext js, string subject, string idPrefix, int maxMessages, TimeSpan maxDuration) =>
        new(js, subject, idPrefix, maxMessages, maxDuration);

    public TimeSpan Elapsed => _clock.Elapsed;

    public int AckedCount
    {
        get
        {
            lock (_acks)
            {
                return _acks.Count;
            }
        }
    }

    /// <summary>Completes when <paramref name="count"/> writes in all have been acknowledged.</summary>
    public async Task WaitForAcksAsync(int count, TimeSpan timeout, string phase, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_acks)
        {
            if (_acks.Count >= count)
            {
                return;
            }

            _waiters.Add((count, reached));
        }

        try
        {
            await reached.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Phase '{phase}': {count} acknowledged writes expected within {timeout.TotalSeconds:0} s, got {AckedCount}.");
        }
    }

    /// <summary>Stops writing and returns every acknowledged write, in order.</summary>
    public async Task<IReadOnlyList<AckedWrite>> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        lock (_acks)
        {
            return [.. _acks];
        }
    }

    /// <summary>The longest time between two consecutive acknowledgements after <paramref name="from"/>.</summary>
    public static TimeSpan LongestPause(IReadOnlyList<AckedWrite> acks, TimeSpan from)
    {
        var longest = TimeSpan.Zero;
        var previous = from;
        foreach (var ack in acks.Where(a => a.At >= from))
        {
            longest = ack.At - previous > longest ? ack.At - previous : longest;
            previous = ack.At;
        }

        return longest;
    }

    private async Task RunAsync(INatsJSContext js, string subject, string idPrefix, int maxMessages, CancellationToken stop)
    {
        for (var i = 0; i < maxMessages && !stop.IsCancellationRequested; i++)
        {
            var id = $"{idPrefix}-{i:D7}";
            var started = _clock.Elapsed;
            try
            {
                var ack = await ReplicatedPublisher.PublishAsync(js, subject, id, id, stop);
                Record(new AckedWrite(id, ack.Seq, ack.Duplicate, _clock.Elapsed, _clock.Elapsed - started));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void Record(AckedWrite ack)
    {
        lock (_acks)
        {
            _acks.Add(ack);
            foreach (var waiter in _waiters.Where(w => w.Count <= _acks.Count).ToList())
            {
                waiter.Reached.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
