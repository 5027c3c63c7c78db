using System.Net;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Pay;
using Haetae.Platform.Store;
using Haetae.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream;

namespace Haetae.Integration.Tests;

/// <summary>Holds nobody settles go back by themselves: the nodes' reconciler, run here as it would run days from now.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class PayExpiryTests(SharedClusterFixture fixture)
{
    [Fact]
    public async Task An_envelope_nobody_accepts_and_a_payment_no_shop_captures_go_back_once_their_time_is_up()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(fixture.Cluster).Person("Alice", 0).Person("Bob", 1).Person("Sora", 2).Friends("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (sora, _) = people["Sora"];
        await alice.Pay.TopUpAsync(10_000, cancellationToken: ct);
        var envelope = await alice.Pay.SendAsync(bobUser.Id, 3_000, cancellationToken: ct);
        var shop = await sora.Pay.OpenMerchantAsync("꽃집", cancellationToken: ct);
        var charge = await sora.Pay.ChargeAsync(shop.Id, 2_000, cancellationToken: ct);
        await alice.Pay.ApproveAsync(charge.Code, ct);
        var before = await alice.Pay.WalletAsync(ct);

        // 49 hours on, the envelope is due and the authorization is not; 8 days on, both are.
        await using var sites = await fixture.Cluster.ConnectEachSiteAsync();
        var tasks = await new Buckets(new NatsJSContext(sites[0])).GetAsync(Wallets.TasksBucket);
        var holds = new[] { envelope.Id, Merchants.AuthorizationId(charge.Id) };
        async Task ReconcileAtAsync(TimeSpan ahead)
        {
            var later = new Later(ahead);
            var wallets = new Wallets(new Ledger(sites[1], later), null!, new Buckets(new NatsJSContext(sites[1])), null!, null!, later, NullLogger<Wallets>.Instance);
            foreach (var hold in holds)
            {
                if (await tasks.TryGetAsync(PayKeys.Task(hold), ct) is { Value: var task })
                {
                    await wallets.ReconcileAsync(task, ct);
                }
            }
        }

        await ReconcileAtAsync(TimeSpan.FromHours(49));
        var afterTwoDays = (await alice.Pay.EnvelopeAsync(envelope.Id, ct)).State;
        var chargeAfterTwoDays = (await sora.Pay.ChargeAsync(charge.Id, ct)).State;
        await ReconcileAtAsync(TimeSpan.FromDays(8));

        Assert.Equal(new WalletView(10_000, 5_000, 5_000, 0), before);
        Assert.Equal((EnvelopeState.Returned, ChargeState.Approved), (afterTwoDays, chargeAfterTwoDays));
        Assert.Equal(ChargeState.Expired, (await sora.Pay.ChargeAsync(charge.Id, ct)).State);
        Assert.Equal(new WalletView(10_000, 10_000, 0, 0), await alice.Pay.WalletAsync(ct));
        Assert.Equal(new WalletView(0, 0, 0, 0), await bob.Pay.WalletAsync(ct));
        Assert.Equal(HttpStatusCode.Conflict, (await Assert.ThrowsAsync<HaetaeApiException>(() => bob.Pay.AcceptAsync(envelope.Id, ct))).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await Assert.ThrowsAsync<HaetaeApiException>(() => sora.Pay.CaptureAsync(charge.Id, cancellationToken: ct))).Status);
        foreach (var hold in holds)
        {
            Assert.Null(await tasks.TryGetAsync(PayKeys.Task(hold), ct));
        }
    }
}
