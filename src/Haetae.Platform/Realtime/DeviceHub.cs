using System.Collections.Concurrent;

namespace Haetae.Platform.Realtime;

/// <summary>
/// The devices connected to this node: whose each one is, and which topics (a chat, a ledger, a ride)
/// each follows. A service's feed reads the store once per node and hands each event to the devices
/// here that want it; a device of a person who has no topic yet (a chat just started with them) is
/// still reachable by its owner.
/// </summary>
/// <typeparam name="TEvent">What the service's feeds hand to a device (its session turns them into frames).</typeparam>
public sealed class DeviceHub<TEvent>(int maxPerUser)
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<DeviceQueue<TEvent>, byte>> _ofUser = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<DeviceQueue<TEvent>, byte>> _followers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<DeviceQueue<TEvent>, ConcurrentDictionary<string, byte>> _topicsOf = new();

    /// <summary>Devices one person may have connected to one node.</summary>
    public int MaxPerUser { get; } = maxPerUser > 0 ? maxPerUser : throw new ArgumentOutOfRangeException(nameof(maxPerUser), "at least one device per person");

    /// <summary>Registers a device of <paramref name="userId"/>; false (and nothing registered) when that person has <see cref="MaxPerUser"/> already.</summary>
    public bool TryConnect(string userId, DeviceQueue<TEvent> device)
    {
        var devices = _ofUser.GetOrAdd(userId, _ => new());
        lock (devices)
        {
            if (devices.Count >= MaxPerUser)
            {
                return false;
            }

            devices.TryAdd(device, 0);
        }

        _topicsOf.TryAdd(device, new(StringComparer.Ordinal));
        return true;
    }

    /// <summary>Forgets the device and every topic it followed.</summary>
    public void Disconnect(string userId, DeviceQueue<TEvent> device)
    {
        if (_ofUser.TryGetValue(userId, out var devices))
        {
            lock (devices)
            {
                devices.TryRemove(device, out _);
            }
        }

        if (_topicsOf.TryRemove(device, out var topics))
        {
            foreach (var topic in topics.Keys)
            {
                RemoveFollower(topic, device);
            }
        }
    }

    /// <summary>From now on <paramref name="device"/> gets the events of <paramref name="topic"/> (a device not connected follows nothing).</summary>
    public void Follow(string topic, DeviceQueue<TEvent> device)
    {
        if (_topicsOf.TryGetValue(device, out var topics) && topics.TryAdd(topic, 0))
        {
            _followers.GetOrAdd(topic, _ => new()).TryAdd(device, 0);
        }
    }

    public void Unfollow(string topic, DeviceQueue<TEvent> device)
    {
        if (_topicsOf.TryGetValue(device, out var topics) && topics.TryRemove(topic, out _))
        {
            RemoveFollower(topic, device);
        }
    }

    /// <summary>The devices of <paramref name="userId"/> connected to this node.</summary>
    public IReadOnlyCollection<DeviceQueue<TEvent>> DevicesOf(string userId) =>
        _ofUser.TryGetValue(userId, out var devices) ? [.. devices.Keys] : [];

    /// <summary>The devices here that follow <paramref name="topic"/>.</summary>
    public IReadOnlyCollection<DeviceQueue<TEvent>> FollowersOf(string topic) =>
        _followers.TryGetValue(topic, out var devices) ? [.. devices.Keys] : [];

    /// <summary>Offers <paramref name="e"/> to every device here that follows <paramref name="topic"/>.</summary>
    public void Publish(string topic, TEvent e)
    {
        foreach (var device in FollowersOf(topic))
        {
            device.Offer(e);
        }
    }

    /// <summary>Offers <paramref name="e"/> to every device of <paramref name="userId"/> connected here.</summary>
    public void PublishToUser(string userId, TEvent e)
    {
        foreach (var device in DevicesOf(userId))
        {
            device.Offer(e);
        }
    }

    private void RemoveFollower(string topic, DeviceQueue<TEvent> device)
    {
        if (_followers.TryGetValue(topic, out var devices))
        {
            devices.TryRemove(device, out _);
        }
    }
}
