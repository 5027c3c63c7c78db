namespace Haetae.Contracts;

/// <summary>A scooter as its fleet registers it: its public key (SPKI, base64; ECDSA P-256) and where it stands on the 100 × 100 map.</summary>
public sealed record ScooterRegistration(string? Id, string? PublicKey, double X, double Y, int Battery);

/// <summary>
/// A scooter as riders see it: where it stands, its battery, whether it is free, and its short-range
/// channel (the address a phone next to it locks it through when the platform cannot be reached).
/// </summary>
public sealed record ScooterView(string Id, double X, double Y, int Battery, bool Available, Uri? ShortRange);

public enum ScooterEventKind
{
    Unlock,
    Lock,
}

/// <summary>What a scooter signs: which scooter, for which rider and ride, what, when (the scooter's clock), its counter, its battery then.</summary>
public sealed record ScooterEvent(string ScooterId, string RiderId, string RideId, ScooterEventKind Kind, DateTimeOffset At, long Counter, int Battery);

/// <summary>A scooter's event as it hands it out: the JSON it signed (base64) and its ECDSA P-256 signature of those bytes (base64, IEEE P1363).</summary>
public sealed record SignedScooterEvent(string? Payload, string? Signature);

/// <summary>Unlock this scooter for a ride.</summary>
public sealed record StartRideRequest(string? ScooterId);

/// <summary>The price of a ride, in won: a start fee, a price a minute (each minute begun counts), and the most one ride costs.</summary>
public sealed record RidePricing(long StartFee, long PerMinute, long Cap);

/// <summary>
/// A ride's fare, explained: <paramref name="Minutes"/> billed (from the signed unlock to the signed
/// lock, less <paramref name="OutageMinutes"/> inside recorded outages of rides), at the ride's price,
/// capped at <paramref name="Cap"/>.
/// </summary>
public sealed record RideFare(long StartFee, long PerMinute, int Minutes, double OutageMinutes, long Cap, long Total, bool Capped);

public enum RideState
{
    Riding,
    Ended,
}

/// <summary>
/// A ride: the scooter's signed unlock and lock times, how its end reached the platform (the scooter's
/// network, or the rider's phone), and its fare once ended.
/// </summary>
public sealed record RideView(
    string Id, string ScooterId, string RiderId, RideState State, DateTimeOffset Unlocked, DateTimeOffset? Locked, string? EndedThrough, RidePricing Pricing, RideFare? Fare,
    Uri? ShortRange);

/// <summary>A signed event the platform refused, and why (forged, replayed, out of order, for an unknown ride).</summary>
public sealed record RefusedScooterEvent(string? ScooterId, string? RideId, string Reason, DateTimeOffset At);
