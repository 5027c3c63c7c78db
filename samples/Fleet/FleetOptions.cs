namespace Fleet;

/// <summary>The fleet's settings (section "Fleet").</summary>
public sealed class FleetOptions
{
    public const string SectionName = "Fleet";

    /// <summary>The SQLite file that holds the scooters (their keys, counters, rides) and the events not yet uploaded.</summary>
    public string Database { get; set; } = "";

    /// <summary>The secret the platform signs its network calls to scooters with (Authorization: Bearer).</summary>
    public string Secret { get; set; } = "";

    /// <summary>The platform operator's admin key: the fleet registers its scooters' public keys with it.</summary>
    public string AdminKey { get; set; } = "";

    /// <summary>Every site's node, tried in turn (the scooters' network to the platform).</summary>
    public List<string> Sites { get; set; } = [];

    /// <summary>How many scooters the fleet has (made once, with their keys, on the first start).</summary>
    public int Scooters { get; set; } = 12;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Database) || Secret.Length < 16 || AdminKey.Length < 16 || Sites.Count == 0 || Scooters is < 1 or > 500)
        {
            throw new InvalidOperationException("Fleet:Database must name a file, Fleet:Secret and Fleet:AdminKey must be at least 16 characters, Fleet:Sites must name a node, Fleet:Scooters is 1 to 500.");
        }
    }
}

/// <summary>The operator's switch: the scooters' network to the platform is cut, on demand (the short-range channel always works).</summary>
public sealed class Faults
{
    private volatile bool _networkDown;

    public bool NetworkDown => _networkDown;

    public void Set(bool networkDown) => _networkDown = networkDown;
}

public sealed record FaultsRequest(bool NetworkDown);

public enum EventKind
{
    Unlock,
    Lock,
}

/// <summary>What a scooter signs: which scooter, for which rider and ride, what, when, its counter, and its battery then.</summary>
public sealed record ScooterEvent(string ScooterId, string RiderId, string RideId, EventKind Kind, DateTimeOffset At, long Counter, int Battery);

/// <summary>An event as the scooter hands it out: the JSON it signed (base64) and its ECDSA P-256 signature (base64, IEEE P1363).</summary>
public sealed record SignedEvent(string Payload, string Signature);

/// <summary>The platform asks a scooter to unlock for a ride, or to lock.</summary>
public sealed record UnlockRequest(string? RideId, string? RiderId);

public sealed record LockRequest(string? RideId, string? RiderId = null);

/// <summary>A scooter as the fleet registers it with the platform: its public key (SPKI, base64) and where it stands.</summary>
public sealed record Registration(string Id, string PublicKey, double X, double Y, int Battery);

/// <summary>A scooter as a phone next to it sees it.</summary>
public sealed record ScooterStatus(string Id, bool Locked, string? RideId, int Battery, long Counter, int Unsent);
