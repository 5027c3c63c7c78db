using Haetae.Contracts;

namespace Haetae.Platform;

/// <summary>
/// A service people use, as the status page names it: its requests (by path prefix) and the replicated
/// streams its writes go to. A module declares its surfaces (<see cref="IHaetaeModule.Surfaces"/>); the
/// node counts each request against one, and the status page shows one component per surface and site.
/// </summary>
/// <param name="Streams">The JetStream streams whose loss of a leader or a replica touches this service.</param>
public sealed record ServiceSurface(string Name, string Title, string TitleKo, IReadOnlyList<string> Paths, IReadOnlyList<string> Streams);

/// <summary>Every module's surfaces, and which one a request path belongs to.</summary>
public sealed class ServiceSurfaces
{
    private readonly (string Prefix, string Service)[] _byPrefix;

    public ServiceSurfaces(IEnumerable<ServiceSurface> surfaces)
    {
        All = [.. surfaces];
        var duplicate = All.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two modules declare the service '{duplicate.Key}'.");
        }

        // Longest prefix first, so that /api/pay is pay even if some service claimed /api.
        _byPrefix = [.. All.SelectMany(s => s.Paths.Select(p => (Prefix: p, Service: s.Name))).OrderByDescending(p => p.Prefix.Length)];
    }

    public IReadOnlyList<ServiceSurface> All { get; }

    /// <summary>The service a request path belongs to, or null (health checks, static files, the status page).</summary>
    public string? ServiceOf(string path)
    {
        foreach (var (prefix, service) in _byPrefix)
        {
            if (path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && (path.Length == prefix.Length || path[prefix.Length] == '/'))
            {
                return service;
            }
        }

        return null;
    }

    /// <summary>The services that keep <paramref name="stream"/>.</summary>
    public IEnumerable<string> ServicesOf(string stream) => All.Where(s => s.Streams.Contains(stream, StringComparer.Ordinal)).Select(s => s.Name);
}

/// <summary>
/// The platform's record of outages, for services whose promises depend on them (gift vouchers extend
/// their validity by every outage that touched them; ride fares leave out the minutes of one).
/// </summary>
public interface IOutages
{
    /// <summary>Every recorded outage that touched <paramref name="service"/> and overlapped [<paramref name="from"/>, <paramref name="to"/>], oldest first; an open one ends now.</summary>
    Task<IReadOnlyList<OutageWindow>> OverlappingAsync(string service, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);
}

/// <summary>What people are told about outages now (banners, resolution, how to claim damages), for the realtime connection to push.</summary>
public interface IPlatformNotices
{
    IReadOnlyList<Notice> Current { get; }

    /// <summary>Raised (on any thread) after <see cref="Current"/> changed.</summary>
    event Action? Changed;
}

/// <summary>
/// A check that counts acknowledged writes lost (the pay audit): the incident record runs each after an
/// incident is resolved and keeps what it found.
/// </summary>
public interface IAcknowledgedWritesCheck
{
    string Name { get; }

    Task<WritesLost> CheckAsync(CancellationToken cancellationToken);
}
