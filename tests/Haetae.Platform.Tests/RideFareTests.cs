using Haetae.Contracts;

namespace Haetae.Platform.Tests;

/// <summary>A ride's fare from the scooter's signed times: each minute begun, outage minutes left out, capped.</summary>
public sealed class RideFareTests
{
    private static readonly DateTimeOffset Unlocked = new(2026, 10, 15, 15, 19, 0, TimeSpan.Zero);

    private static OutageWindow Outage(DateTimeOffset from, TimeSpan length) => new("fire", from, from + length, ["rides"], false);

    [Fact]
    public void Each_minute_begun_counts_after_the_start_fee_and_none_after_the_signed_lock()
    {
        var quick = Rides.Rides.Fare(Rides.Rides.Pricing, Unlocked, Unlocked.AddSeconds(20), []);
        var sevenAndABit = Rides.Rides.Fare(Rides.Rides.Pricing, Unlocked, Unlocked.AddMinutes(7).AddSeconds(1), []);
        var exactlySeven = Rides.Rides.Fare(Rides.Rides.Pricing, Unlocked, Unlocked.AddMinutes(7), []);

        Assert.Equal((1, 1_150L), (quick.Minutes, quick.Total));
        Assert.Equal((8, 2_200L), (sevenAndABit.Minutes, sevenAndABit.Total));
        Assert.Equal((7, 2_050L), (exactlySeven.Minutes, exactlySeven.Total));
    }

    [Fact]
    public void Minutes_inside_recorded_outages_are_not_billed_and_the_fare_never_passes_the_cap()
    {
        // The 2022 fire: a ride that could not be ended for hours costs what the minutes outside the outage cost.
        var throughAFire = Rides.Rides.Fare(Rides.Rides.Pricing, Unlocked, Unlocked.AddHours(4), [Outage(Unlocked.AddMinutes(10), TimeSpan.FromHours(5)), Outage(Unlocked.AddMinutes(12), TimeSpan.FromMinutes(5))]);
        var allDay = Rides.Rides.Fare(Rides.Rides.Pricing, Unlocked, Unlocked.AddHours(10), []);

        Assert.Equal((10, 230.0, 2_500L, false), (throughAFire.Minutes, throughAFire.OutageMinutes, throughAFire.Total, throughAFire.Capped));
        Assert.Equal((20_000L, true), (allDay.Total, allDay.Capped));
    }
}
