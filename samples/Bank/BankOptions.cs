namespace Bank;

/// <summary>The bank's settings (section "Bank").</summary>
public sealed class BankOptions
{
    public const string SectionName = "Bank";

    /// <summary>The SQLite file that holds accounts and operations.</summary>
    public string Database { get; set; } = "";

    /// <summary>The secret the platform signs its calls with (Authorization: Bearer).</summary>
    public string Secret { get; set; } = "";

    /// <summary>What a customer's account holds when the bank first hears of it, in won.</summary>
    public long OpeningBalance { get; set; } = 1_000_000;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Database) || Secret.Length < 16 || OpeningBalance < 0)
        {
            throw new InvalidOperationException("Bank:Database must name a file, Bank:Secret must be at least 16 characters, Bank:OpeningBalance must not be negative.");
        }
    }
}

/// <summary>The operator's switch: the bank answers slowly or not at all, on demand.</summary>
public sealed class Faults
{
    private volatile FaultsRequest _now = new(false, 0);

    public bool Down => _now.Down;

    public TimeSpan Delay => TimeSpan.FromMilliseconds(_now.DelayMs);

    public void Set(bool down, TimeSpan delay) => _now = new FaultsRequest(down, (int)delay.TotalMilliseconds);
}

public sealed record FaultsRequest(bool Down, int DelayMs);

public sealed record OperationRequest(string? Key, string? Account, long Amount);

public enum OperationKind
{
    Debit,
    Credit,
}

public enum OperationStatus
{
    Done,
    Refused,
}

/// <summary>One operation, kept for good under its key: asking again with the key returns it as it was.</summary>
public sealed record BankOperation(string Key, string Account, OperationKind Kind, long Amount, OperationStatus Status, string? Reason, long Balance, DateTimeOffset At);

public sealed record BankAccount(string Id, long Balance);

/// <summary>Everything the bank did: the drill compares it with the ledger's bank account.</summary>
public sealed record BankSummary(int Operations, long Debited, long Credited, int Refused);
