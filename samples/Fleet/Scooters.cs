using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;

namespace Fleet;

/// <summary>
/// The scooters in one SQLite file (WAL, synchronous=FULL: a lock a scooter signed is on disk before it
/// is handed out). Each scooter's key never leaves it; its counter grows by one with every event it
/// signs, so no two events of a scooter share one. Calls are taken one at a time.
/// </summary>
public sealed class Scooters : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();

    public Scooters(string path, int count)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Run("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        Run("""
            CREATE TABLE IF NOT EXISTS scooters (
                id TEXT PRIMARY KEY, key BLOB NOT NULL, x REAL NOT NULL, y REAL NOT NULL, battery INTEGER NOT NULL,
                counter INTEGER NOT NULL, ride TEXT, rider TEXT, unlocked TEXT, unlock_event TEXT, lock_event TEXT);
            CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, scooter TEXT NOT NULL, event TEXT NOT NULL);
            """);
        var random = new Random(20221015);
        for (var i = 1; i <= count; i++)
        {
            var id = $"s{i:D3}";
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            // Scattered over a 100 × 100 map of the neighbourhood; made once, kept across restarts.
            Run(
                "INSERT OR IGNORE INTO scooters (id, key, x, y, battery, counter) VALUES ($id, $key, $x, $y, 100, 0)",
                null, ("$id", id), ("$key", key.ExportPkcs8PrivateKey()), ("$x", Math.Round(5 + (random.NextDouble() * 90), 1)), ("$y", Math.Round(5 + (random.NextDouble() * 90), 1)));
        }
    }

    /// <summary>What the platform is told of every scooter: its public key and where it stands.</summary>
    public IReadOnlyList<Registration> Registrations()
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "SELECT id, key, x, y, battery FROM scooters ORDER BY id";
            using var reader = command.ExecuteReader();
            List<Registration> all = [];
            while (reader.Read())
            {
                using var key = ECDsa.Create();
                key.ImportPkcs8PrivateKey((byte[])reader["key"], out _);
                all.Add(new Registration(reader.GetString(0), Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt32(4)));
            }

            return all;
        }
    }

    public ScooterStatus? Status(string id)
    {
        lock (_gate)
        {
            return Read(id) is { } s ? new ScooterStatus(s.Id, s.Ride is null, s.Ride, s.Battery, s.Counter, Unsent(id)) : null;
        }
    }

    /// <summary>Unlocks for the ride and signs the unlock; the same ride again gets the same signed event.</summary>
    public (SignedEvent? Event, string? Refusal) Unlock(string id, string rideId, string riderId)
    {
        lock (_gate)
        {
            var s = Read(id);
            if (s is null)
            {
                return (null, "no such scooter");
            }

            if (s.Ride == rideId && s.UnlockEvent is { } again)
            {
                return (JsonSerializer.Deserialize<SignedEvent>(again, Json), null);
            }

            if (s.Ride is not null)
            {
                return (null, "in use by another ride");
            }

            if (s.Battery < 10)
            {
                return (null, "battery empty");
            }

            var now = DateTimeOffset.UtcNow;
            var signed = Sign(s, new ScooterEvent(id, riderId, rideId, EventKind.Unlock, now, s.Counter + 1, s.Battery));
            Run(
                "UPDATE scooters SET counter = $c, ride = $ride, rider = $rider, unlocked = $at, unlock_event = $e, lock_event = NULL WHERE id = $id",
                null, ("$c", s.Counter + 1), ("$ride", rideId), ("$rider", riderId), ("$at", now.ToString("O")), ("$e", JsonSerializer.Serialize(signed, Json)), ("$id", id));
            return (signed, null);
        }
    }

    /// <summary>
    /// Locks at once and signs the lock, queued for upload through the scooter's network; the same ride
    /// again gets the same signed lock. <paramref name="riderId"/> (the short-range channel) must be the ride's rider.
    /// </summary>
    public (SignedEvent? Event, string? Refusal) Lock(string id, string rideId, string? riderId)
    {
        lock (_gate)
        {
            var s = Read(id);
            if (s is null)
            {
                return (null, "no such scooter");
            }

            if (s.LockEvent is { } done && JsonSerializer.Deserialize<SignedEvent>(done, Json) is { } previous && RideOf(previous) == rideId)
            {
                return (previous, null);
            }

            if (s.Ride != rideId || (riderId is not null && s.Rider != riderId))
            {
                return (null, "this scooter is not on that ride");
            }

            var now = DateTimeOffset.UtcNow;
            // A minute of riding uses about 1% of the battery.
            var used = s.Unlocked is { } from ? (int)Math.Ceiling((now - DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture)).TotalMinutes) : 0;
            var battery = Math.Max(0, s.Battery - used);
            var signed = Sign(s, new ScooterEvent(id, s.Rider!, rideId, EventKind.Lock, now, s.Counter + 1, battery));
            var text = JsonSerializer.Serialize(signed, Json);
            using var transaction = _db.BeginTransaction();
            Run("UPDATE scooters SET counter = $c, ride = NULL, rider = NULL, battery = $b, lock_event = $e WHERE id = $id", transaction, ("$c", s.Counter + 1), ("$b", battery), ("$e", text), ("$id", id));
            Run("INSERT INTO outbox (scooter, event) VALUES ($id, $e)", transaction, ("$id", id), ("$e", text));
            transaction.Commit();
            return (signed, null);
        }
    }

    /// <summary>Events signed and not yet taken by the platform, oldest first.</summary>
    public IReadOnlyList<(long Id, SignedEvent Event)> Outbox()
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "SELECT id, event FROM outbox ORDER BY id LIMIT 100";
            using var reader = command.ExecuteReader();
            List<(long, SignedEvent)> all = [];
            while (reader.Read())
            {
                all.Add((reader.GetInt64(0), JsonSerializer.Deserialize<SignedEvent>(reader.GetString(1), Json)!));
            }

            return all;
        }
    }

    public void Sent(long outboxId)
    {
        lock (_gate)
        {
            Run("DELETE FROM outbox WHERE id = $id", null, ("$id", outboxId));
        }
    }

    public void Dispose() => _db.Dispose();

    private static string RideOf(SignedEvent signed) => JsonSerializer.Deserialize<ScooterEvent>(Convert.FromBase64String(signed.Payload), Json)!.RideId;

    private static SignedEvent Sign(Row s, ScooterEvent e)
    {
        using var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(s.Key, out _);
        var payload = JsonSerializer.SerializeToUtf8Bytes(e, Json);
        return new SignedEvent(Convert.ToBase64String(payload), Convert.ToBase64String(key.SignData(payload, HashAlgorithmName.SHA256)));
    }

    private int Unsent(string id)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM outbox WHERE scooter = $id";
        command.Parameters.AddWithValue("$id", id);
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed record Row(string Id, byte[] Key, int Battery, long Counter, string? Ride, string? Rider, string? Unlocked, string? UnlockEvent, string? LockEvent);

    private Row? Read(string id)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT id, key, battery, counter, ride, rider, unlocked, unlock_event, lock_event FROM scooters WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var r = command.ExecuteReader();
        return r.Read()
            ? new Row(r.GetString(0), (byte[])r["key"], r.GetInt32(2), r.GetInt64(3), Text(r, 4), Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8))
            : null;
    }

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private void Run(string sql, SqliteTransaction? transaction = null, params (string Name, object Value)[] parameters)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }
}
