using Haetae.Contracts;
using Haetae.Platform.Store;

namespace Haetae.Rides;

/// <summary>A scooter as its fleet registered it: its public key, and where it stands.</summary>
public sealed record ScooterRecord(string Id, string PublicKey, double X, double Y, DateTimeOffset Registered);

/// <summary>
/// A scooter's state as the platform keeps it (compare-and-set): its battery, the highest counter it
/// accepted from it, and the ride it is on (reserved from <see cref="Since"/> while it unlocks).
/// </summary>
public sealed record ScooterState(int Battery, long Counter, string? RideId, DateTimeOffset? Since);

/// <summary>A ride as it began: the scooter's signed unlock, the hold on the rider's wallet, the price it was unlocked at. Written once.</summary>
public sealed record RideRecord(string Id, string ScooterId, string RiderId, string HoldId, ScooterEvent Unlock, SignedScooterEvent UnlockSigned, RidePricing Pricing);

/// <summary>The one lock accepted for a ride (its first arrival, by the scooter's network or the rider's phone). Written once.</summary>
public sealed record AcceptedLock(ScooterEvent Event, SignedScooterEvent Signed, string Through, DateTimeOffset Received);

public static class RideKeys
{
    public const string Bucket = "rides";

    public const string RefusalsBucket = "ride-refusals";

    public static Key<ScooterRecord> Scooter(string id) => new("scooter." + id);

    public static Key<ScooterState> State(string scooterId) => new("state." + scooterId);

    public static Key<RideRecord> Ride(string id) => new("ride." + id);

    /// <summary>The ride a rider is on (one at a time), deleted when it is settled.</summary>
    public static Key<string> Riding(string riderId) => new("riding." + riderId);

    public static Key<string> History(string riderId, string rideId) => new($"rides.{riderId}.{rideId}");

    public static string HistoryOf(string riderId) => $"rides.{riderId}.>";

    public static Key<AcceptedLock> Lock(string rideId) => new("lock." + rideId);

    /// <summary>The fare, decided once from the signed times and the outages recorded by then, before it is charged.</summary>
    public static Key<RideFare> Fare(string rideId) => new("fare." + rideId);

    public static string HoldId(string rideId) => rideId + "-h";

    public static string FareId(string rideId) => rideId + "-f";
}
