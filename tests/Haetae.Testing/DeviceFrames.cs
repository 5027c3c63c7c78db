using Haetae.Client;
using Haetae.Contracts;

namespace Haetae.Testing;

/// <summary>Awaiting frames at a connected device, with a timeout that names the phase.</summary>
public static class DeviceFrames
{
    public static readonly TimeSpan Phase = TimeSpan.FromSeconds(30);

    /// <summary>The next frame that <paramref name="wanted"/> accepts (others are skipped).</summary>
    public static async Task<RealtimeFrame> NextAsync(HaetaeRealtime device, Func<RealtimeFrame, bool> wanted, string phase, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Phase);
        try
        {
            while (true)
            {
                var frame = await device.Frames.ReadAsync(timeout.Token);
                if (wanted(frame))
                {
                    return frame;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"Phase '{phase}' did not complete within {Phase.TotalSeconds:0} s.");
        }
    }

    /// <summary>The next <paramref name="count"/> message frames.</summary>
    public static async Task<List<MessageView>> NextMessagesAsync(HaetaeRealtime device, int count, string phase, CancellationToken ct)
    {
        var messages = new List<MessageView>();
        while (messages.Count < count)
        {
            messages.Add(((MessageFrame)await NextAsync(device, f => f is MessageFrame, phase, ct)).Message);
        }

        return messages;
    }
}
