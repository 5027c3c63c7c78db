namespace Haetae.Testing;

/// <summary>The clock, <paramref name="ahead"/> from now: a node's background work run in a test as it would run days or a year from now.</summary>
public sealed class Later(TimeSpan ahead) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
}
