using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>Scooter rides through three real nodes and the fleet's own process: unlock, end in the app or from the phone, the fare from the signed times, refusals.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class RideTests(SharedClusterFixture fixture)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(30);

    private TestCluster Cluster => fixture.Cluster;

    private static async Task<(HttpStatusCode, string?)> RefusedAsync(Func<Task> call)
    {
        var refused = await Assert.ThrowsAsync<HaetaeApiException>(call);
        return (refused.Status, refused.Title);
    }

    /// <summary>A free scooter of the fleet's, once the fleet has registered them.</summary>
    private static async Task<List<ScooterView>> FreeAsync(HaetaeClient client, CancellationToken ct) =>
        [.. (await Eventually.WaitForAsync("the fleet's scooters registered", Phase, c => client.Rides.ScootersAsync(c), s => s.Count(x => x.Available) >= 2, ct)).Where(s => s.Available)];

    [Fact]
    public async Task A_ride_unlocked_and_ended_in_the_app_is_charged_once_from_the_scooters_signed_times()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Minji", 0).Person("Jun", 2).BuildAsync(ct);
        var (minji, minjiUser) = people["Minji"];
        var (jun, _) = people["Jun"];
        await minji.Pay.TopUpAsync(30_000, cancellationToken: ct);
        await jun.Pay.TopUpAsync(30_000, cancellationToken: ct);
        var free = await FreeAsync(minji, ct);

        var ride = await minji.Rides.StartAsync(free[0].Id, "ride-1", ct);
        var again = await ChatTestUsers.SameCallerAt(Cluster, minji, 1).Rides.StartAsync(free[0].Id, "ride-1", ct);
        var whileRiding = await minji.Pay.WalletAsync(ct);
        var taken = await RefusedAsync(() => jun.Rides.StartAsync(free[0].Id, cancellationToken: ct));
        var second = await RefusedAsync(() => minji.Rides.StartAsync(free[1].Id, cancellationToken: ct));
        var notHers = await RefusedAsync(() => jun.Rides.EndAsync(ride.Id, ct));
        var ended = await ChatTestUsers.SameCallerAt(Cluster, minji, 2).Rides.EndAsync(ride.Id, ct);
        var endedAgain = await minji.Rides.EndAsync(ride.Id, ct);

        Assert.Equal((RideState.Riding, minjiUser.Id, free[0].Id), (ride.State, ride.RiderId, ride.ScooterId));
        Assert.Equal(ride.Id, again.Id);
        Assert.Equal(new WalletView(30_000, 10_000, 20_000, 0), whileRiding);
        Assert.Equal((HttpStatusCode.Conflict, "Scooter in use"), taken);
        Assert.Equal((HttpStatusCode.Conflict, "Riding already"), second);
        Assert.Equal(HttpStatusCode.NotFound, notHers.Item1);
        Assert.Equal((RideState.Ended, "scooter"), (ended.State, ended.EndedThrough));
        var fare = ended.Fare!;
        var signed = (int)Math.Ceiling((ended.Locked!.Value - ended.Unlocked).TotalMinutes - 1e-9);
        Assert.True(fare.Minutes <= signed && fare.Minutes >= signed - (int)Math.Ceiling(fare.OutageMinutes), $"{fare.Minutes} minutes billed for {signed} signed");
        Assert.Equal(Math.Min(fare.Cap, fare.StartFee + (fare.Minutes * fare.PerMinute)), fare.Total);
        Assert.Equal(JsonSerializer.Serialize(ended), JsonSerializer.Serialize(endedAgain));
        Assert.Equal(new WalletView(30_000 - fare.Total, 30_000 - fare.Total, 0, 0), await minji.Pay.WalletAsync(ct));
        Assert.Contains(await minji.Rides.MineAsync(ct), r => r.Id == ride.Id && r.Fare == fare);
        Assert.Contains(await jun.Rides.ScootersAsync(ct), s => s.Id == free[0].Id && s.Available);
    }

    [Fact]
    public async Task A_ride_ends_from_the_phone_when_the_scooter_is_cut_off_and_its_lock_is_accepted_once_whichever_way_it_comes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Sora", 1).BuildAsync(ct);
        var (sora, soraUser) = people["Sora"];
        await sora.Pay.TopUpAsync(30_000, cancellationToken: ct);
        var free = await FreeAsync(sora, ct);
        var ride = await sora.Rides.StartAsync(free[0].Id, cancellationToken: ct);
        var fleet = Cluster.Platform.Fleet!;
        RideView uploaded;
        SignedScooterEvent receipt;
        await fleet.SetNetworkAsync(down: true, ct);
        try
        {
            Assert.Equal((HttpStatusCode.Conflict, "Scooter unreachable"), await RefusedAsync(() => sora.Rides.EndAsync(ride.Id, ct)));
            // The phone next to the scooter: it locks at once and hands over its signed receipt.
            using var phone = new HttpClient();
            using var answer = await phone.PostAsJsonAsync(ride.ShortRange, new { rideId = ride.Id, riderId = soraUser.Id }, ct);
            receipt = (await answer.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<SignedScooterEvent>(HaetaeJson.Options, ct))!;
            uploaded = await sora.Rides.UploadAsync(receipt, ct);
        }
        finally
        {
            await fleet.SetNetworkAsync(down: false, ct);
        }

        var locked = JsonSerializer.Deserialize<ScooterEvent>(Convert.FromBase64String(receipt.Payload!), HaetaeJson.Options)!;
        Assert.Equal((RideState.Ended, "phone", locked.At), (uploaded.State, uploaded.EndedThrough, uploaded.Locked));
        // The scooter's own copy arrives over its network once it is back: the same lock, taken once, not a refusal.
        var again = await ChatTestUsers.SameCallerAt(Cluster, sora, 2).Rides.UploadAsync(receipt, ct);
        Assert.Equal(uploaded.Fare, again.Fare);
        using var admin = new HttpClient { BaseAddress = Cluster.Spec.Sites[0].NodeUri };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Cluster.Spec.Secrets.AdminKey);
        await Eventually.WaitForAsync("the scooter's own upload", Phase, c => sora.Rides.ScootersAsync(c), s => s.Single(x => x.Id == free[0].Id).Available, ct);
        var refusals = await admin.GetFromJsonAsync<List<RefusedScooterEvent>>("/admin/rides/refusals", HaetaeJson.Options, ct);
        Assert.DoesNotContain(refusals!, r => r.RideId == ride.Id);

        // The next ride on the same scooter: the first ride's lock, sent again, names the first ride and ends nothing else.
        var next = await sora.Rides.StartAsync(free[0].Id, cancellationToken: ct);
        await sora.Rides.UploadAsync(receipt, ct);
        Assert.Equal(RideState.Riding, (await sora.Rides.RideAsync(next.Id, ct)).State);
        var nextEnded = await sora.Rides.EndAsync(next.Id, ct);

        // A lock tampered with (its time moved back), and the unlock sent as if it were a lock: refused, and recorded.
        var tampered = JsonSerializer.SerializeToUtf8Bytes(locked with { At = locked.At.AddMinutes(-1) }, HaetaeJson.Options);
        var forged = await RefusedAsync(() => sora.Rides.UploadAsync(receipt with { Payload = Convert.ToBase64String(tampered) }, ct));
        Assert.Equal((HttpStatusCode.BadRequest, "Event refused"), forged);
        var paid = uploaded.Fare!.Total + nextEnded.Fare!.Total;
        Assert.Equal(new WalletView(30_000 - paid, 30_000 - paid, 0, 0), await sora.Pay.WalletAsync(ct));
        refusals = await admin.GetFromJsonAsync<List<RefusedScooterEvent>>("/admin/rides/refusals", HaetaeJson.Options, ct);
        Assert.Contains(refusals!, r => r.RideId == ride.Id && r.Reason.StartsWith("forged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Locks_for_unknown_rides_forged_ones_and_garbage_are_refused_and_recorded_and_a_flat_scooter_is_not_unlocked()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Hana", 2).BuildAsync(ct);
        var (hana, hanaUser) = people["Hana"];
        await hana.Pay.TopUpAsync(30_000, cancellationToken: ct);
        using var admin = new HttpClient { BaseAddress = Cluster.Spec.Sites[1].NodeUri };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Cluster.Spec.Secrets.AdminKey);

        // A scooter of the test's own, with its own key: flat, so it is never unlocked, and able to sign anything.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = $"t{Guid.NewGuid():N}"[..12];
        var registered = await admin.PostAsJsonAsync("/admin/rides/scooters", new[] { new ScooterRegistration(id, Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()), 50, 50, 5) }, HaetaeJson.Options, ct);
        Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        SignedScooterEvent Sign(ScooterEvent e)
        {
            var payload = JsonSerializer.SerializeToUtf8Bytes(e, HaetaeJson.Options);
            return new SignedScooterEvent(Convert.ToBase64String(payload), Convert.ToBase64String(key.SignData(payload, HashAlgorithmName.SHA256)));
        }

        var flat = await RefusedAsync(() => hana.Rides.StartAsync(id, cancellationToken: ct));
        var unknownScooter = await RefusedAsync(() => hana.Rides.StartAsync("no-such-scooter", cancellationToken: ct));
        var unknownRide = await RefusedAsync(() => hana.Rides.UploadAsync(Sign(new ScooterEvent(id, hanaUser.Id, "rrnosuchride0000000000", ScooterEventKind.Lock, DateTimeOffset.UtcNow, 7, 5)), ct));
        var otherKey = await RefusedAsync(() => hana.Rides.UploadAsync(Sign(new ScooterEvent("s001", hanaUser.Id, "rrnosuchride0000000000", ScooterEventKind.Lock, DateTimeOffset.UtcNow, 7, 5)), ct));
        var garbage = await RefusedAsync(() => hana.Rides.UploadAsync(new SignedScooterEvent("not base64!", "x"), ct));

        // A real ride's lock replayed against it after another lock was accepted, and a lock whose counter is not after the unlock's.
        var free = await FreeAsync(hana, ct);
        var ride = await hana.Rides.StartAsync(free[0].Id, cancellationToken: ct);
        var ended = await hana.Rides.EndAsync(ride.Id, ct);
        var refusals = await admin.GetFromJsonAsync<List<RefusedScooterEvent>>("/admin/rides/refusals", HaetaeJson.Options, ct);

        Assert.Equal((HttpStatusCode.Conflict, "Battery empty"), flat);
        Assert.Equal(HttpStatusCode.NotFound, unknownScooter.Item1);
        Assert.Equal((HttpStatusCode.NotFound, "Event refused"), unknownRide);
        Assert.Equal((HttpStatusCode.BadRequest, "Event refused"), otherKey);
        Assert.Equal((HttpStatusCode.BadRequest, "Event refused"), garbage);
        Assert.Equal(RideState.Ended, ended.State);
        Assert.Contains(refusals!, r => r.ScooterId == id && r.Reason.StartsWith("a lock event for an unknown ride", StringComparison.Ordinal));
        Assert.Contains(refusals!, r => r.ScooterId == "s001" && r.Reason.StartsWith("forged", StringComparison.Ordinal));
        Assert.Equal(new WalletView(30_000 - ended.Fare!.Total, 30_000 - ended.Fare.Total, 0, 0), await hana.Pay.WalletAsync(ct));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/admin/rides/scooters", new[] { new ScooterRegistration("x", "not a key", 1, 1, 1) }, HaetaeJson.Options, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync("/admin/rides/scooters", new[] { new ScooterRegistration(id, Convert.ToBase64String(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportSubjectPublicKeyInfo()), 1, 1, 1) }, HaetaeJson.Options, ct)).StatusCode);
    }
}
