namespace Haetae.Platform.Realtime;

/// <summary>What a device session does with entry <c>sequence</c> of a topic it follows.</summary>
public enum Delivery
{
    /// <summary>The next one: send it as it came.</summary>
    Send,

    /// <summary>Entries between the last sent and this one are missing: read them (and this one) from the store, in order.</summary>
    CatchUp,

    /// <summary>Sent already (a feed that started again brings some twice): drop it.</summary>
    Seen,

    /// <summary>A topic this device does not follow.</summary>
    NotFollowed,
}

/// <summary>
/// Per topic, the last sequence sent to one device: the rule that makes a device that reconnects at any
/// site miss nothing and see nothing twice. A device says where it was (its resume map); the session
/// starts each topic there, sends the next sequence as it comes, and reads any gap from the store.
/// </summary>
public sealed class ResumeCursor
{
    private readonly Dictionary<string, long> _lastSent = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Positions => _lastSent;

    public bool Follows(string topic) => _lastSent.ContainsKey(topic);

    public long LastSent(string topic) => _lastSent[topic];

    /// <summary>
    /// Starts <paramref name="topic"/>, whose newest entry is <paramref name="newest"/>. A new device (no
    /// resume map) starts from now; one that sent a map starts where it says (clamped to what exists), and
    /// has not heard of any topic it leaves out.
    /// </summary>
    public void Start(string topic, long newest, IReadOnlyDictionary<string, long>? resume) =>
        _lastSent[topic] = resume is null ? newest : Math.Clamp(resume.GetValueOrDefault(topic), 0, newest);

    /// <summary>Follows <paramref name="topic"/> with everything after <paramref name="lastSent"/> still to send.</summary>
    public void StartAfter(string topic, long lastSent) => _lastSent[topic] = Math.Max(0, lastSent);

    public Delivery Decide(string topic, long sequence) =>
        !_lastSent.TryGetValue(topic, out var last) ? Delivery.NotFollowed
        : sequence == last + 1 ? Delivery.Send
        : sequence > last + 1 ? Delivery.CatchUp
        : Delivery.Seen;

    /// <summary>Records that everything up to <paramref name="sequence"/> was sent (never moves back).</summary>
    public void Sent(string topic, long sequence) => _lastSent[topic] = Math.Max(_lastSent.GetValueOrDefault(topic), sequence);

    public void Stop(string topic) => _lastSent.Remove(topic);
}
