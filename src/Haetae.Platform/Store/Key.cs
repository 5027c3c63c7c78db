namespace Haetae.Platform.Store;

/// <summary>
/// A key of a bucket with the type of the value it holds. Each module names its keys once (for
/// example <c>ChatKeys.Chat(id)</c>), so a key is spelled in one place and read back as what it is.
/// </summary>
public readonly record struct Key<T>(string Name)
{
    public override string ToString() => Name;
}
