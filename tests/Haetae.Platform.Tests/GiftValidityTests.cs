using Haetae.Contracts;
using Haetae.Gifts;

namespace Haetae.Platform.Tests;

/// <summary>A voucher's validity moved by recorded outages: the fixed point of "moved by every outage before the moved date".</summary>
public sealed class GiftValidityTests
{
    private static readonly DateTimeOffset Sold = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Until = Vouchers.ValidUntil(Sold);

    private static OutageWindow Outage(string id, DateTimeOffset from, TimeSpan length) => new(id, from, from + length, ["gifts"], false);

    [Fact]
    public void A_voucher_is_valid_a_year_and_an_outage_inside_it_adds_its_whole_length()
    {
        var (none, noExtensions) = Vouchers.Extend(Sold, Until, []);
        var (moved, extensions) = Vouchers.Extend(Sold, Until, [Outage("fire", Sold.AddDays(10), TimeSpan.FromMinutes(35))]);

        Assert.Equal((new DateTimeOffset(2027, 3, 1, 9, 0, 0, TimeSpan.Zero), 0), (none, noExtensions.Count));
        Assert.Equal(Until.AddMinutes(35), moved);
        Assert.Equal(35 * 60, Assert.Single(extensions).Seconds, 6);
    }

    [Fact]
    public void Only_the_part_after_the_sale_counts_and_overlapping_outages_count_once()
    {
        var (moved, extensions) = Vouchers.Extend(Sold, Until,
        [
            Outage("before", Sold.AddHours(-1), TimeSpan.FromMinutes(90)),
            Outage("fire", Sold.AddDays(3), TimeSpan.FromHours(2)),
            Outage("partition", Sold.AddDays(3).AddHours(1), TimeSpan.FromHours(2)),
        ]);

        Assert.Equal(Until.AddMinutes(30 + 120 + 60), moved);
        Assert.Equal([("before", 1800.0), ("fire", 7200.0), ("partition", 3600.0)], extensions.Select(e => (e.IncidentId, Math.Round(e.Seconds, 6))));
    }

    [Fact]
    public void A_move_that_reaches_a_later_outage_counts_it_too_and_one_past_the_moved_date_does_not()
    {
        var (moved, extensions) = Vouchers.Extend(Sold, Until,
        [
            Outage("at-the-end", Until.AddHours(-1), TimeSpan.FromHours(5)),
            Outage("reached", Until.AddHours(4.5), TimeSpan.FromHours(1)),
            Outage("too-late", Until.AddHours(7), TimeSpan.FromHours(1)),
        ]);

        Assert.Equal(Until.AddHours(6), moved);
        Assert.Equal(["at-the-end", "reached"], extensions.Select(e => e.IncidentId));
    }
}
