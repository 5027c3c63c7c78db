using Microsoft.Data.Sqlite;

namespace Bank;

/// <summary>
/// Accounts and operations in one SQLite file (WAL, synchronous=FULL: an answered operation is on
/// disk). Each operation runs in one transaction with its key's row, so a key is applied once
/// whatever the retries; calls are taken one at a time.
/// </summary>
public sealed class BankStore : IDisposable
{
    public const long MaxAmount = 1_000_000_000_000;

    private readonly SqliteConnection _db;
    private readonly long _openingBalance;
    private readonly Lock _gate = new();

    public BankStore(string path, long openingBalance)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _openingBalance = openingBalance;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Run("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        Run("""
            CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS operations (
                key TEXT PRIMARY KEY, account TEXT NOT NULL, kind INTEGER NOT NULL, amount INTEGER NOT NULL,
                status INTEGER NOT NULL, reason TEXT, balance INTEGER NOT NULL, at TEXT NOT NULL);
            """);
    }

    /// <summary>The operation under <paramref name="key"/>: done now, or as it was the first time; Matches is false when the key names another operation.</summary>
    public (BankOperation Operation, bool Matches) Execute(string key, string account, OperationKind kind, long amount)
    {
        lock (_gate)
        {
            using var transaction = _db.BeginTransaction();
            if (FindIn(transaction, key) is { } earlier)
            {
                return (earlier, earlier.Account == account && earlier.Kind == kind && earlier.Amount == amount);
            }

            var balance = BalanceIn(transaction, account) ?? Open(transaction, account);
            var refused = kind == OperationKind.Debit && balance < amount;
            var after = refused ? balance : kind == OperationKind.Debit ? balance - amount : balance + amount;
            var operation = new BankOperation(
                key, account, kind, amount, refused ? OperationStatus.Refused : OperationStatus.Done, refused ? $"account {account} holds ₩{balance:N0}, less than ₩{amount:N0}" : null, after, DateTimeOffset.UtcNow);
            Run("UPDATE accounts SET balance = $b WHERE id = $id", transaction, ("$b", after), ("$id", account));
            Run(
                "INSERT INTO operations VALUES ($key, $account, $kind, $amount, $status, $reason, $balance, $at)",
                transaction,
                ("$key", key), ("$account", account), ("$kind", (int)kind), ("$amount", amount), ("$status", (int)operation.Status),
                ("$reason", (object?)operation.Reason ?? DBNull.Value), ("$balance", after), ("$at", operation.At.ToString("O")));
            transaction.Commit();
            return (operation, true);
        }
    }

    public BankOperation? Find(string key)
    {
        lock (_gate)
        {
            return FindIn(null, key);
        }
    }

    public BankAccount? Account(string id)
    {
        lock (_gate)
        {
            return BalanceIn(null, id) is { } balance ? new BankAccount(id, balance) : null;
        }
    }

    public BankSummary Summary()
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = """
                SELECT COUNT(*),
                       COALESCE(SUM(CASE WHEN status = 0 AND kind = 0 THEN amount END), 0),
                       COALESCE(SUM(CASE WHEN status = 0 AND kind = 1 THEN amount END), 0),
                       COALESCE(SUM(CASE WHEN status = 1 THEN 1 END), 0)
                FROM operations
                """;
            using var reader = command.ExecuteReader();
            reader.Read();
            return new BankSummary(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt32(3));
        }
    }

    public void Dispose() => _db.Dispose();

    private long Open(SqliteTransaction transaction, string account)
    {
        Run("INSERT INTO accounts VALUES ($id, $b)", transaction, ("$id", account), ("$b", _openingBalance));
        return _openingBalance;
    }

    private long? BalanceIn(SqliteTransaction? transaction, string account)
    {
        using var command = Command("SELECT balance FROM accounts WHERE id = $id", transaction, ("$id", account));
        return command.ExecuteScalar() is long balance ? balance : null;
    }

    private BankOperation? FindIn(SqliteTransaction? transaction, string key)
    {
        using var command = Command("SELECT account, kind, amount, status, reason, balance, at FROM operations WHERE key = $key", transaction, ("$key", key));
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new BankOperation(
                key, reader.GetString(0), (OperationKind)reader.GetInt32(1), reader.GetInt64(2), (OperationStatus)reader.GetInt32(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5), DateTimeOffset.Parse(reader.GetString(6), System.Globalization.CultureInfo.InvariantCulture))
            : null;
    }

    private void Run(string sql, SqliteTransaction? transaction = null, params (string Name, object Value)[] parameters)
    {
        using var command = Command(sql, transaction, parameters);
        command.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction, params (string Name, object Value)[] parameters)
    {
        var command = _db.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
