using System.Security.Cryptography;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Http;

namespace Haetae.Rides;

/// <summary>
/// Kick-scooter rides. Unlocking holds the most a ride costs from the rider's wallet (pay, through
/// <see cref="IPayments"/>), then asks the scooter over its network, which unlocks and signs the unlock.
/// A ride ends with the scooter's signed lock, whichever way it arrives first (the platform asking the
/// scooter for the rider, the scooter's own network, or the rider's phone, which got it over the
/// short-range channel when the platform could not be reached): accepted once, its fare decided once
/// from the two signed times (less the minutes inside recorded outages of rides), captured from the
/// hold, the rest released. Every write takes ids derived from the rider's request id.
/// </summary>
public sealed class Rides(Buckets buckets, FleetChannel fleet, IPayments payments, IOutages outages, TimeProvider time)
{
    /// <summary>The service name outages are recorded under.</summary>
    public const string Service = "rides";

    /// <summary>The till the fares go to: a shop rides keeps itself.</summary>
    public const string Shop = "rides";

    public static readonly RidePricing Pricing = new(StartFee: 1_000, PerMinute: 150, Cap: 20_000);

    /// <summary>A scooter with less charge than this is not unlocked.</summary>
    public const int MinimumBattery = 10;

    /// <summary>A reservation whose ride was never written (its request ended first) is undone after this.</summary>
    public static readonly TimeSpan ReservationGrace = TimeSpan.FromSeconds(30);

    public const int MaxPayloadBytes = 1_024;

    private readonly Lazy<Task> _shop = new(() => payments.OpenServiceShopAsync(Shop, "Haetae Rides · 해태 킥보드", CancellationToken.None));

    private Task<JsonBucket> StoreAsync() => buckets.GetAsync(RideKeys.Bucket);

    private async Task<Versioned<T>?> ReadAsync<T>(Key<T> key, CancellationToken cancellationToken)
    {
        var store = await StoreAsync();
        return await StoreRetry.ThroughElectionAsync(() => store.GetFromLeaderAsync(key, cancellationToken), cancellationToken);
    }

    /// <summary>The fleet registers its scooters' public keys; a scooter registered already keeps its key (another one is refused).</summary>
    public async Task<int> RegisterAsync(IReadOnlyList<ScooterRegistration> scooters, CancellationToken cancellationToken)
    {
        if (scooters.Count is 0 or > 500)
        {
            throw ApiProblem.BadRequest("register 1 to 500 scooters at once");
        }

        var store = await StoreAsync();
        var added = 0;
        foreach (var s in scooters)
        {
            if (s.Id is null || !RequestIds.IsValid(s.Id) || s.Id.Length > 32 || s.X is < 0 or > 100 || s.Y is < 0 or > 100 || s.Battery is < 0 or > 100 || !IsPublicKey(s.PublicKey))
            {
                throw ApiProblem.BadRequest("each scooter has an id (1 to 32 letters, digits, '-' or '_'), a P-256 public key (SPKI, base64), a position from 0 to 100 and a battery from 0 to 100");
            }

            if (await store.TryCreateAsync(RideKeys.Scooter(s.Id), new ScooterRecord(s.Id, s.PublicKey!, s.X, s.Y, time.GetUtcNow()), cancellationToken))
            {
                added++;
            }
            else if ((await ReadAsync(RideKeys.Scooter(s.Id), cancellationToken))!.Value.PublicKey != s.PublicKey)
            {
                throw ApiProblem.Conflict($"scooter {s.Id} is registered with another key");
            }

            await store.TryCreateAsync(RideKeys.State(s.Id), new ScooterState(s.Battery, 0, null, null), cancellationToken);
        }

        return added;
    }

    /// <summary>Every scooter, where it stands, its battery, and whether it is free.</summary>
    public async Task<IReadOnlyList<ScooterView>> ScootersAsync(CancellationToken cancellationToken)
    {
        var store = await StoreAsync();
        List<string> ids = [];
        await foreach (var key in store.KeysAsync("scooter.>", cancellationToken))
        {
            ids.Add(key["scooter.".Length..]);
        }

        var views = await Task.WhenAll(ids.Order(StringComparer.Ordinal).Select(async id =>
        {
            var (record, state) = (store.TryGetAsync(RideKeys.Scooter(id), cancellationToken), store.TryGetAsync(RideKeys.State(id), cancellationToken));
            return (await record)?.Value is { } r && (await state)?.Value is { } s
                ? new ScooterView(r.Id, r.X, r.Y, s.Battery, s.RideId is null && s.Battery >= MinimumBattery, fleet.ShortRange(r.Id))
                : null;
        }));
        return [.. views.OfType<ScooterView>()];
    }

    public async Task<RideView> StartAsync(string user, StartRideRequest request, string requestId, CancellationToken cancellationToken)
    {
        var scooter = request.ScooterId is { } sid && RequestIds.IsValid(sid) ? (await ReadAsync(RideKeys.Scooter(sid), cancellationToken))?.Value : null;
        if (scooter is null)
        {
            throw ApiProblem.NotFound($"no scooter {request.ScooterId}");
        }

        var rideId = RequestIds.Derive("rr", 20, user, requestId);
        if (await ReadAsync(RideKeys.Ride(rideId), cancellationToken) is { Value: var started })
        {
            return started.ScooterId == scooter.Id ? await ViewAsync(started, cancellationToken) : throw ApiProblem.Conflict("this request id unlocked another scooter");
        }

        await _shop.Value.WaitAsync(cancellationToken);
        var store = await StoreAsync();
        await ReserveAsync(store, scooter.Id, rideId, cancellationToken);
        if (!await store.TryCreateAsync(RideKeys.Riding(user), rideId, cancellationToken)
            && (await ReadAsync(RideKeys.Riding(user), cancellationToken))?.Value is { } riding && riding != rideId)
        {
            await ReleaseAsync(store, scooter.Id, rideId, cancellationToken);
            throw new ApiProblem(StatusCodes.Status409Conflict, "Riding already", "end the ride you are on before unlocking another scooter");
        }

        ScooterEvent unlock;
        SignedScooterEvent signed;
        try
        {
            var hold = await payments.HoldAsync(RideKeys.HoldId(rideId), user, Shop, Pricing.Cap, "ride", expires: null, cancellationToken);
            if (hold.Settlement is not null)
            {
                // An earlier attempt with this request id was undone (its scooter did not answer): a new unlock takes a new request id.
                throw ApiProblem.Conflict("this unlock was cancelled; unlock again");
            }

            signed = await fleet.UnlockAsync(scooter.Id, rideId, user, cancellationToken);
            unlock = Verify(signed, scooter, out var reason) ?? throw new ApiProblem(409, FleetChannel.RefusedTitle, $"the scooter's unlock does not verify: {reason}");
            if (unlock.Kind != ScooterEventKind.Unlock || unlock.RideId != rideId || unlock.RiderId != user || unlock.ScooterId != scooter.Id)
            {
                throw new ApiProblem(409, FleetChannel.RefusedTitle, "the scooter answered with an unlock of another ride");
            }
        }
        catch (ApiProblem)
        {
            // Nothing rides: the hold (if any) goes back, the scooter and the rider are free again.
            await UndoAsync(store, scooter.Id, rideId, user, cancellationToken);
            throw;
        }

        var ride = new RideRecord(rideId, scooter.Id, user, RideKeys.HoldId(rideId), unlock, signed, Pricing);
        if (!await store.TryCreateAsync(RideKeys.Ride(rideId), ride, cancellationToken))
        {
            ride = (await ReadAsync(RideKeys.Ride(rideId), cancellationToken))!.Value;
        }

        await store.PutAsync(RideKeys.History(user, rideId), rideId, cancellationToken);
        await store.UpdateAsync(RideKeys.State(scooter.Id), s => s! with { Counter = Math.Max(s.Counter, unlock.Counter), Battery = unlock.Battery }, cancellationToken);
        return await ViewAsync(ride, cancellationToken);
    }

    /// <summary>The rider ends the ride in the app: the platform asks the scooter to lock over its network.</summary>
    public async Task<RideView> EndAsync(string user, string rideId, CancellationToken cancellationToken)
    {
        var ride = await RequireAsync(user, rideId, cancellationToken);
        if (await ReadAsync(RideKeys.Lock(rideId), cancellationToken) is not null)
        {
            return await FinishAsync(ride, cancellationToken);
        }

        SignedScooterEvent signed;
        try
        {
            signed = await fleet.LockAsync(ride.ScooterId, ride.Id, cancellationToken);
        }
        catch (ApiProblem problem) when (problem.Title == FleetChannel.UnreachableTitle)
        {
            throw new ApiProblem(409, FleetChannel.UnreachableTitle, "the scooter does not answer over its network: end the ride from your phone next to it (short range)");
        }

        return await AcceptAsync(signed, "scooter", cancellationToken);
    }

    /// <summary>
    /// A scooter's signed lock, from its network or from the rider's phone: accepted once. A forged one
    /// (its signature does not verify with the scooter's key), a replayed or out-of-order one (another
    /// ride's, another lock of this ride, a counter or time not after the unlock's), or one for an
    /// unknown ride is refused, and the refusal recorded.
    /// </summary>
    public async Task<RideView> AcceptAsync(SignedScooterEvent signed, string through, CancellationToken cancellationToken)
    {
        var claimed = Parse(signed);
        if (claimed is null)
        {
            throw await RefuseAsync(null, null, StatusCodes.Status400BadRequest, "not a scooter event (payload: base64 of the event's JSON, at most 1 KiB; signature: base64)", cancellationToken);
        }

        var scooter = RequestIds.IsValid(claimed.ScooterId) ? (await ReadAsync(RideKeys.Scooter(claimed.ScooterId), cancellationToken))?.Value : null;
        if (scooter is null)
        {
            throw await RefuseAsync(claimed.ScooterId, claimed.RideId, StatusCodes.Status404NotFound, $"no scooter {claimed.ScooterId}", cancellationToken);
        }

        var e = Verify(signed, scooter, out var reason);
        if (e is null)
        {
            throw await RefuseAsync(claimed.ScooterId, claimed.RideId, StatusCodes.Status400BadRequest, $"forged: {reason}", cancellationToken);
        }

        var ride = RequestIds.IsValid(e.RideId) ? (await ReadAsync(RideKeys.Ride(e.RideId), cancellationToken))?.Value : null;
        if (ride is null)
        {
            throw await RefuseAsync(e.ScooterId, e.RideId, StatusCodes.Status404NotFound, $"a lock event for an unknown ride {e.RideId}", cancellationToken);
        }

        if (e.Kind != ScooterEventKind.Lock || ride.ScooterId != e.ScooterId || ride.RiderId != e.RiderId)
        {
            throw await RefuseAsync(e.ScooterId, e.RideId, StatusCodes.Status409Conflict, "not a lock of this ride's scooter by its rider", cancellationToken);
        }

        if (e.Counter <= ride.Unlock.Counter || e.At < ride.Unlock.At)
        {
            throw await RefuseAsync(e.ScooterId, e.RideId, StatusCodes.Status409Conflict, $"out of order: counter {e.Counter} at {e.At:O} is not after the unlock's {ride.Unlock.Counter} at {ride.Unlock.At:O}", cancellationToken);
        }

        var store = await StoreAsync();
        var accepted = new AcceptedLock(e, new SignedScooterEvent(signed.Payload, signed.Signature), through is "phone" ? "phone" : "scooter", time.GetUtcNow());
        if (!await store.TryCreateAsync(RideKeys.Lock(ride.Id), accepted, cancellationToken)
            && (await ReadAsync(RideKeys.Lock(ride.Id), cancellationToken))!.Value.Signed.Payload != signed.Payload)
        {
            throw await RefuseAsync(e.ScooterId, e.RideId, StatusCodes.Status409Conflict, "replayed: another lock of this ride was accepted first", cancellationToken);
        }

        return await FinishAsync(ride, cancellationToken);
    }

    /// <summary>
    /// Settles an ended ride (again: the same answer): its fare decided once, captured from the hold (the
    /// ledger settles a hold once), the scooter free, the rider free to unlock another.
    /// </summary>
    public async Task<RideView> FinishAsync(RideRecord ride, CancellationToken cancellationToken)
    {
        var store = await StoreAsync();
        var locked = (await ReadAsync(RideKeys.Lock(ride.Id), cancellationToken))!.Value;
        var fare = await FareAsync(ride, locked.Event, cancellationToken);
        if (!await store.TryCreateAsync(RideKeys.Fare(ride.Id), fare, cancellationToken))
        {
            fare = (await ReadAsync(RideKeys.Fare(ride.Id), cancellationToken))!.Value;
        }

        await payments.SettleAsync(ride.HoldId, RideKeys.FareId(ride.Id), fare.Total, "ride-fare", cancellationToken);
        await store.UpdateAsync(RideKeys.State(ride.ScooterId), s => s!.RideId == ride.Id
            ? s with { RideId = null, Since = null, Counter = Math.Max(s.Counter, locked.Event.Counter), Battery = locked.Event.Battery }
            : s with { Counter = Math.Max(s.Counter, locked.Event.Counter) }, cancellationToken);
        if ((await ReadAsync(RideKeys.Riding(ride.RiderId), cancellationToken))?.Value == ride.Id)
        {
            await store.DeleteAsync(RideKeys.Riding(ride.RiderId), cancellationToken);
        }

        return await ViewAsync(ride, cancellationToken);
    }

    /// <summary>The fare from the signed times: each minute begun counts, less the minutes inside recorded outages of rides; never above the cap.</summary>
    public async Task<RideFare> FareAsync(RideRecord ride, ScooterEvent locked, CancellationToken cancellationToken)
    {
        var windows = await outages.OverlappingAsync(Service, ride.Unlock.At, locked.At, cancellationToken);
        return Fare(ride.Pricing, ride.Unlock.At, locked.At, windows);
    }

    /// <summary>The fare of a ride from <paramref name="unlocked"/> to <paramref name="locked"/> (signed times), the parts inside <paramref name="windows"/> (counted once) left out.</summary>
    public static RideFare Fare(RidePricing pricing, DateTimeOffset unlocked, DateTimeOffset locked, IEnumerable<OutageWindow> windows)
    {
        var outage = TimeSpan.Zero;
        var covered = unlocked;
        foreach (var w in windows.OrderBy(w => w.From))
        {
            var from = w.From > covered ? w.From : covered;
            var to = w.To < locked ? w.To : locked;
            if (to > from)
            {
                outage += to - from;
                covered = to;
            }
        }

        var billable = locked - unlocked - outage;
        var minutes = billable <= TimeSpan.Zero ? 0 : (int)Math.Ceiling(billable.TotalMinutes - 1e-9);
        var total = pricing.StartFee + (minutes * pricing.PerMinute);
        return new RideFare(pricing.StartFee, pricing.PerMinute, minutes, Math.Round(outage.TotalMinutes, 2), pricing.Cap, Math.Min(total, pricing.Cap), total > pricing.Cap);
    }

    /// <summary>The caller's rides, newest first.</summary>
    public async Task<IReadOnlyList<RideView>> MineAsync(string user, CancellationToken cancellationToken)
    {
        var store = await StoreAsync();
        List<string> ids = [];
        await foreach (var key in store.KeysAsync(RideKeys.HistoryOf(user), cancellationToken))
        {
            ids.Add(key[(key.LastIndexOf('.') + 1)..]);
        }

        var rides = await Task.WhenAll(ids.Select(id => store.TryGetAsync(RideKeys.Ride(id), cancellationToken)));
        var views = await Task.WhenAll(rides.OfType<Versioned<RideRecord>>().Select(r => ViewAsync(r.Value, cancellationToken)));
        return [.. views.OrderByDescending(v => v.Unlocked).Take(100)];
    }

    public async Task<RideView> GetAsync(string user, string rideId, CancellationToken cancellationToken) =>
        await ViewAsync(await RequireAsync(user, rideId, cancellationToken), cancellationToken);

    /// <summary>Undoes reservations whose ride was never written, and settles rides whose lock came but whose fare was not charged (a request cut short).</summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = await StoreAsync();
        var now = time.GetUtcNow();
        await foreach (var key in store.KeysAsync("state.>", cancellationToken))
        {
            if (await store.TryGetAsync(new Key<ScooterState>(key), cancellationToken) is { Value: { RideId: { } rideId, Since: { } since } }
                && now - since > ReservationGrace
                && await ReadAsync(RideKeys.Ride(rideId), cancellationToken) is null)
            {
                var scooterId = key["state.".Length..];
                try
                {
                    // If the scooter did unlock for it, it locks now; the ride was never recorded, so nothing is charged.
                    await fleet.LockAsync(scooterId, rideId, cancellationToken);
                }
                catch (ApiProblem problem) when (problem.Title == FleetChannel.RefusedTitle)
                {
                    // It never unlocked for this ride.
                }
                catch (ApiProblem problem) when (problem.Title == FleetChannel.UnreachableTitle)
                {
                    // Asked again at the next pass: a scooter left unlocked for a ride nobody knows would be lost to riders.
                    continue;
                }

                var rider = await payments.FindHoldAsync(RideKeys.HoldId(rideId), cancellationToken) is { } hold ? hold.PayerId : null;
                await UndoAsync(store, scooterId, rideId, rider, cancellationToken);
            }
        }

        await foreach (var key in store.KeysAsync("riding.>", cancellationToken))
        {
            if (await store.TryGetAsync(new Key<string>(key), cancellationToken) is { Value: var rideId }
                && await ReadAsync(RideKeys.Lock(rideId), cancellationToken) is not null
                && await ReadAsync(RideKeys.Ride(rideId), cancellationToken) is { Value: var ride })
            {
                await FinishAsync(ride, cancellationToken);
            }
        }
    }

    private async Task ReserveAsync(JsonBucket store, string scooterId, string rideId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = await ReadAsync(RideKeys.State(scooterId), cancellationToken) ?? throw ApiProblem.NotFound($"no scooter {scooterId}");
            var state = current.Value;
            if (state.RideId == rideId)
            {
                return;
            }

            if (state.RideId is not null)
            {
                throw new ApiProblem(StatusCodes.Status409Conflict, "Scooter in use", "someone else is riding this scooter; pick another");
            }

            if (state.Battery < MinimumBattery)
            {
                throw new ApiProblem(StatusCodes.Status409Conflict, "Battery empty", $"this scooter has {state.Battery}% charge left; pick another");
            }

            if (await store.ReplaceAsync(RideKeys.State(scooterId), state with { RideId = rideId, Since = time.GetUtcNow() }, current.Revision, cancellationToken) is not null)
            {
                return;
            }
        }

        throw new ApiProblem(503, "Scooter busy", "the scooter's state kept changing; retry with the same request id");
    }

    private async Task ReleaseAsync(JsonBucket store, string scooterId, string rideId, CancellationToken cancellationToken) =>
        await store.UpdateAsync(RideKeys.State(scooterId), s => s!.RideId == rideId ? s with { RideId = null, Since = null } : s, cancellationToken);

    /// <summary>A ride that never began: its hold back to the rider, the scooter and the rider free.</summary>
    private async Task UndoAsync(JsonBucket store, string scooterId, string rideId, string? riderId, CancellationToken cancellationToken)
    {
        if (await payments.FindHoldAsync(RideKeys.HoldId(rideId), cancellationToken) is { Settlement: null } hold)
        {
            await payments.SettleAsync(hold.Id, RideKeys.FareId(rideId), 0, "ride-not-started", cancellationToken);
        }

        await ReleaseAsync(store, scooterId, rideId, cancellationToken);
        if (riderId is not null && (await ReadAsync(RideKeys.Riding(riderId), cancellationToken))?.Value == rideId)
        {
            await store.DeleteAsync(RideKeys.Riding(riderId), cancellationToken);
        }
    }

    private async Task<RideRecord> RequireAsync(string user, string rideId, CancellationToken cancellationToken) =>
        RequestIds.IsValid(rideId) && await ReadAsync(RideKeys.Ride(rideId), cancellationToken) is { Value: var ride } && ride.RiderId == user
            ? ride
            : throw ApiProblem.NotFound($"no ride {rideId} of yours");

    private async Task<RideView> ViewAsync(RideRecord ride, CancellationToken cancellationToken)
    {
        var (lockRead, fareRead) = (ReadAsync(RideKeys.Lock(ride.Id), cancellationToken), ReadAsync(RideKeys.Fare(ride.Id), cancellationToken));
        var (locked, fare) = ((await lockRead)?.Value, (await fareRead)?.Value);
        return new RideView(
            ride.Id, ride.ScooterId, ride.RiderId, locked is null ? RideState.Riding : RideState.Ended, ride.Unlock.At, locked?.Event.At, locked?.Through, ride.Pricing, fare,
            fleet.ShortRange(ride.ScooterId));
    }

    private async Task<ApiProblem> RefuseAsync(string? scooterId, string? rideId, int status, string reason, CancellationToken cancellationToken)
    {
        var refusals = await buckets.GetAsync(RideKeys.RefusalsBucket);
        var at = time.GetUtcNow();
        await refusals.PutAsync(new Key<RefusedScooterEvent>($"refused.{at:yyyyMMddHHmmssfff}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}"),
            new RefusedScooterEvent(Trim(scooterId), Trim(rideId), reason, at), cancellationToken);
        return new ApiProblem(status, "Event refused", reason);
    }

    /// <summary>The latest refusals, newest first (the operator's view).</summary>
    public async Task<IReadOnlyList<RefusedScooterEvent>> RefusalsAsync(CancellationToken cancellationToken)
    {
        var refusals = await buckets.GetAsync(RideKeys.RefusalsBucket);
        List<string> keys = [];
        await foreach (var key in refusals.KeysAsync("refused.>", cancellationToken))
        {
            keys.Add(key);
        }

        var latest = await Task.WhenAll(keys.Order(StringComparer.Ordinal).TakeLast(100).Select(k => refusals.TryGetAsync(new Key<RefusedScooterEvent>(k), cancellationToken)));
        return [.. latest.OfType<Versioned<RefusedScooterEvent>>().Select(r => r.Value).Reverse()];
    }

    private static string? Trim(string? text) => text is null ? null : text.Length > 64 ? text[..64] : text;

    private static ScooterEvent? Parse(SignedScooterEvent signed)
    {
        if (signed.Payload is not { Length: > 0 and <= MaxPayloadBytes * 4 / 3 + 4 } || signed.Signature is not { Length: > 0 and <= 200 })
        {
            return null;
        }

        try
        {
            var bytes = Convert.FromBase64String(signed.Payload);
            return bytes.Length is 0 or > MaxPayloadBytes || signed.Signature is null ? null : JsonSerializer.Deserialize<ScooterEvent>(bytes, HaetaeJson.Options);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The event if its signature verifies with the scooter's registered key; null (and why) otherwise.</summary>
    private static ScooterEvent? Verify(SignedScooterEvent signed, ScooterRecord scooter, out string reason)
    {
        reason = "";
        var e = Parse(signed);
        if (e is null)
        {
            reason = "not a scooter event";
            return null;
        }

        try
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(scooter.PublicKey), out _);
            if (key.VerifyData(Convert.FromBase64String(signed.Payload!), Convert.FromBase64String(signed.Signature!), HashAlgorithmName.SHA256) && e.ScooterId == scooter.Id)
            {
                return e;
            }
        }
        catch (Exception x) when (x is FormatException or CryptographicException)
        {
            // A signature that is not even base64 is as forged as a wrong one.
        }

        reason = $"the signature does not verify with scooter {scooter.Id}'s key";
        return null;
    }

    private static bool IsPublicKey(string? spki)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(spki ?? ""), out _);
            return key.KeySize == 256;
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return false;
        }
    }
}
