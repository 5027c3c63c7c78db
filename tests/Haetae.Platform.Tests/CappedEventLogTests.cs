using Haetae.Platform.Store;

namespace Haetae.Platform.Tests;

/// <summary>The capped shared event log's rule: every node records what it sees, each change once, the newest kept.</summary>
public sealed class CappedEventLogTests
{
    private sealed record Seen(string Site, string Kind, int At);

    private static IReadOnlyList<Seen> Merge(IReadOnlyList<Seen> existing, params Seen[] pending) =>
        CappedEventLog<Seen>.Merge(existing, pending, capacity: 4, e => e.Site, e => e.Kind);

    [Fact]
    public void The_same_change_seen_by_three_nodes_is_recorded_once()
    {
        var log = Merge([], new Seen("pangyo", "lost", 1));
        log = Merge(log, new Seen("pangyo", "lost", 2));
        log = Merge(log, new Seen("pangyo", "lost", 3));

        Assert.Equal([new Seen("pangyo", "lost", 1)], log);
    }

    [Fact]
    public void A_site_lost_and_back_and_lost_again_is_three_events_and_other_sites_are_their_own()
    {
        var log = Merge([], new Seen("pangyo", "lost", 1), new Seen("ansan", "lost", 2), new Seen("pangyo", "back", 3), new Seen("pangyo", "lost", 4));

        Assert.Equal([1, 2, 3, 4], log.Select(e => e.At));
    }

    [Fact]
    public void Only_the_newest_are_kept()
    {
        var log = Merge([], [.. Enumerable.Range(1, 10).Select(i => new Seen($"site{i}", "lost", i))]);

        Assert.Equal([7, 8, 9, 10], log.Select(e => e.At));
    }
}
