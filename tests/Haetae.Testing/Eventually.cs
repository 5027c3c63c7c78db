using System.Diagnostics;

namespace Haetae.Testing;

/// <summary>Awaiting an event that has no notification of its own, with a timeout that names the phase.</summary>
public static class Eventually
{
    /// <summary>
    /// Evaluates <paramref name="condition"/> until it holds; throws <see cref="TimeoutException"/> naming
    /// <paramref name="phase"/> when <paramref name="timeout"/> passes first.
    /// </summary>
    public static async Task<T> WaitForAsync<T>(
        string phase, TimeSpan timeout, Func<CancellationToken, Task<T>> probe, Func<T, bool> condition, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        T last = default!;
        try
        {
            while (true)
            {
                last = await probe(deadline.Token);
                if (condition(last))
                {
                    return last;
                }

                // The servers offer no push notification for these states; poll their endpoints.
                await Task.Delay(50, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Phase '{phase}' did not complete within {timeout.TotalSeconds:0} s (waited {clock.Elapsed.TotalSeconds:0.0} s); last value: {last}");
        }
    }
}
