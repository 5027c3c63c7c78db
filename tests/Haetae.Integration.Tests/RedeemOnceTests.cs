using Haetae.Contracts;
using Haetae.Platform.Store;
using Haetae.Testing;
using NATS.Client.JetStream;

namespace Haetae.Integration.Tests;

/// <summary>The kit's redeem-once against the real servers: redeemers at three sites at the same instant.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class RedeemOnceTests(SharedClusterFixture fixture)
{
    [Fact]
    public async Task Of_three_redeemers_at_three_sites_exactly_one_wins_and_its_retry_gets_the_first_result()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var sites = await fixture.Cluster.ConnectEachSiteAsync();
        var connections = sites.Connections;
        // Each site's redeemer has its own connection to its own server; the keys are this run's own.
        var buckets = connections.Select(c => new Buckets(new NatsJSContext(c))).ToArray();
        var run = Guid.NewGuid().ToString("N")[..8];
        const int races = 60;
        var doubled = 0;
        var none = 0;
        for (var race = 0; race < races; race++)
        {
            var key = $"{run}-{race}";
            var shared = buckets.Select(b => new RedeemOnce<string>(b, Assets.ChatsBucket, "redeemtest.", TimeProvider.System)).ToArray();

            var outcomes = await Task.WhenAll(shared.Select((r, site) => r.RedeemAsync(key, $"shop{site}", () => $"order at shop{site}", ct)));
            var winners = outcomes.Count(o => o.Won);
            doubled += winners > 1 ? 1 : 0;
            none += winners == 0 ? 1 : 0;
            Assert.All(outcomes, o => Assert.Equal(outcomes.Single(w => w.Won).RedeemedBy, o.RedeemedBy));

            // The winner retries at another site: its first result, still won; the others still lose.
            var winner = outcomes.Single(o => o.Won);
            var retry = await shared[(int.Parse(winner.RedeemedBy[^1..], System.Globalization.CultureInfo.InvariantCulture) + 1) % 3]
                .RedeemAsync(key, winner.RedeemedBy, () => "a different result", ct);
            Assert.True(retry.Won);
            Assert.Equal(winner.Result, retry.Result);
        }

        Assert.True(doubled == 0, $"{doubled} of {races} keys were redeemed by more than one");
        Assert.True(none == 0, $"{none} of {races} keys were redeemed by nobody");
    }
}
