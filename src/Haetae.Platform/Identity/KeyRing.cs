using System.Security.Cryptography;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;

namespace Haetae.Platform.Identity;

/// <summary>What a key is for: signing tokens (published in the JWKS) or encrypting codes and refresh tokens (never published).</summary>
public enum KeyUse
{
    Signing,
    Encryption,
}

/// <summary>
/// One key of the ring. <paramref name="UsedFrom"/> is when it starts signing (or encrypting): a signing
/// key is published from <paramref name="CreatedAt"/>, ahead of that, so that whoever checks tokens has
/// it before meeting a token it signed.
/// </summary>
public sealed record RingKey(string Kid, KeyUse Use, string Material, DateTimeOffset CreatedAt, DateTimeOffset UsedFrom);

/// <summary>Every key, in one bucket entry, so that a rotation is one compare-and-set.</summary>
public sealed record KeySet(IReadOnlyList<RingKey> Keys);

/// <summary>When keys rotate. Defaults: a new key every 30 days, published 1 day before it signs, kept 15 days after it stops.</summary>
public sealed record KeyRotationPolicy(TimeSpan RotateEvery, TimeSpan PublishAhead, TimeSpan KeepAfterRetired)
{
    public static KeyRotationPolicy Default { get; } = new(TimeSpan.FromDays(30), TimeSpan.FromDays(1), TimeSpan.FromDays(15));

    public bool IsValid => PublishAhead > TimeSpan.Zero && RotateEvery > PublishAhead && KeepAfterRetired > TimeSpan.Zero;
}

/// <summary>The key ring's settings. Bound from configuration section "Haetae:Keys".</summary>
public sealed class KeyRingOptions
{
    /// <summary>How often a new signing (and encryption) key takes over. Default 30 days.</summary>
    public TimeSpan RotateEvery { get; set; } = KeyRotationPolicy.Default.RotateEvery;

    /// <summary>
    /// How long a new signing key is published before it signs: longer than anyone caches the keys (the
    /// sample exchange refreshes the login JWKS every 10 minutes; nodes re-read the ring every 5 s). Default 1 day.
    /// </summary>
    public TimeSpan PublishAhead { get; set; } = KeyRotationPolicy.Default.PublishAhead;

    /// <summary>
    /// How long a replaced key stays: longer than any token it protected lives (sessions 12 hours, login
    /// refresh tokens 14 days). Default 15 days.
    /// </summary>
    public TimeSpan KeepRetired { get; set; } = KeyRotationPolicy.Default.KeepAfterRetired;

    public KeyRotationPolicy Policy => new(RotateEvery, PublishAhead, KeepRetired);
}

/// <summary>The rotation rules as plain functions over the key set: which keys exist, and in what order they are used.</summary>
public static class KeyRotation
{
    /// <summary>
    /// The key set as it should be at <paramref name="now"/>: a first key when there is none; a next key
    /// created <see cref="KeyRotationPolicy.PublishAhead"/> before the current one has served
    /// <see cref="KeyRotationPolicy.RotateEvery"/>; keys dropped <see cref="KeyRotationPolicy.KeepAfterRetired"/>
    /// after a newer key took over, when no token they protected can still be valid.
    /// </summary>
    public static KeySet Rotate(KeySet set, DateTimeOffset now, KeyRotationPolicy policy, Func<KeyUse, (string Kid, string Material)> newKey)
    {
        var keys = set.Keys.ToList();
        foreach (var use in Enum.GetValues<KeyUse>())
        {
            var mine = keys.Where(k => k.Use == use).OrderBy(k => k.UsedFrom).ToList();
            var current = mine.LastOrDefault(k => k.UsedFrom <= now);
            var pending = mine.Any(k => k.UsedFrom > now);
            if (current is null && !pending)
            {
                var (kid, material) = newKey(use);
                keys.Add(new RingKey(kid, use, material, now, now));
            }
            else if (current is not null && !pending && now >= current.UsedFrom + policy.RotateEvery - policy.PublishAhead)
            {
                var (kid, material) = newKey(use);
                keys.Add(new RingKey(kid, use, material, now, now + policy.PublishAhead));
            }

            for (var i = 0; i < mine.Count - 1; i++)
            {
                var supersededAt = mine[i + 1].UsedFrom;
                if (supersededAt <= now && now >= supersededAt + policy.KeepAfterRetired)
                {
                    keys.Remove(mine[i]);
                }
            }
        }

        return keys.Count == set.Keys.Count && keys.All(set.Keys.Contains) ? set : new KeySet(keys);
    }

    /// <summary>
    /// The keys of one use in the order they are taken: the one in use first (it signs or encrypts), then
    /// the published next key, then older keys, newest first (they still validate).
    /// </summary>
    public static IReadOnlyList<RingKey> InUseOrder(KeySet set, KeyUse use, DateTimeOffset now)
    {
        var mine = set.Keys.Where(k => k.Use == use).ToList();
        var current = mine.Where(k => k.UsedFrom <= now).MaxBy(k => k.UsedFrom);
        return current is null
            ? []
            : [current, .. mine.Where(k => k.UsedFrom > now).OrderBy(k => k.UsedFrom), .. mine.Where(k => k.UsedFrom <= now && k != current).OrderByDescending(k => k.UsedFrom)];
    }

    /// <summary>When the order changes next by itself (a pending key starts signing), if ever.</summary>
    public static DateTimeOffset? NextChange(KeySet set, DateTimeOffset now)
    {
        var times = set.Keys.Where(k => k.UsedFrom > now).Select(k => k.UsedFrom).ToList();
        return times.Count == 0 ? null : times.Min();
    }
}

/// <summary>
/// The one key ring for every token the platform issues: the access tokens of the API (identity) and
/// the login provider's ID and access tokens (signing), its codes and refresh tokens (encryption). The
/// keys are the same at every site: they live in one entry of the replicated signing-keys bucket,
/// rotated by compare-and-set (whichever node gets there first rotates; the others read its result).
/// Every node re-reads the entry from the bucket's leader every few seconds; when the keys or their
/// order change, it says so through <see cref="GetChangeToken"/> (the login provider rebuilds its options).
/// A node that has not loaded the keys yet is not ready.
/// </summary>
public sealed partial class KeyRing(Buckets buckets, IOptions<KeyRingOptions> options, TimeProvider time, ILogger<KeyRing> logger)
    : BackgroundService, IHealthCheck
{
    /// <summary>Where the ring lives in the signing-keys bucket.</summary>
    public static readonly Key<KeySet> EntryKey = new("keys");

    /// <summary>The signing algorithm of every token.</summary>
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);
    private readonly KeyRotationPolicy _policy = options.Value.Policy;
    private readonly Dictionary<string, SecurityKey> _imported = [];
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _changed = new();
    private volatile Snapshot? _snapshot;

    /// <summary>The keys in the order they are used: the first signs (or encrypts), the others still validate (or decrypt).</summary>
    public sealed record Snapshot(IReadOnlyList<SigningCredentials> Signing, IReadOnlyList<EncryptingCredentials> Encryption, string Order);

    public bool IsLoaded => _snapshot is not null;

    /// <summary>The keys as last read; null before they are loaded.</summary>
    public Snapshot? Current => _snapshot;

    /// <summary>Signalled when the keys or their order change.</summary>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(_changed.Token);

    /// <summary>The credentials that sign a new token now (waits for the keys at start-up).</summary>
    public async Task<SigningCredentials> SigningAsync(CancellationToken cancellationToken)
    {
        await _loaded.Task.WaitAsync(cancellationToken);
        return _snapshot!.Signing[0];
    }

    /// <summary>Keys that may have signed a token with this key id (for JWT validation; synchronous by design of the handler).</summary>
    public IEnumerable<SecurityKey> Resolve(string? kid) =>
        _snapshot?.Signing.FirstOrDefault(c => c.Kid == kid) is { } credentials ? [credentials.Key] : [];

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(IsLoaded ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The token keys are not loaded yet."));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_policy.IsValid)
        {
            throw new InvalidOperationException("Haetae:Keys needs 0 < PublishAhead < RotateEvery and KeepRetired > 0.");
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Poll;
            try
            {
                var set = await RotateAsync(stoppingToken);
                var now = time.GetUtcNow();
                Apply(set, now);
                if (KeyRotation.NextChange(set, now) is { } next && next - now < wait)
                {
                    wait = next - now + TimeSpan.FromMilliseconds(10);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // An election, most likely: keep the keys we have and ask again shortly.
                LogReadFailed(e.Message);
                wait = TimeSpan.FromMilliseconds(500);
            }

            await Task.Delay(wait, time, stoppingToken);
        }
    }

    private async Task<KeySet> RotateAsync(CancellationToken cancellationToken)
    {
        var bucket = await buckets.GetAsync(Assets.SigningKeysBucket);
        // Another node that rotated first wins the compare-and-set: read again and take its keys.
        var rotated = await StoreRetry.Conflicts<KeySet>(10).ExecuteAsync(async ct =>
        {
            var stored = await bucket.GetFromLeaderAsync(EntryKey, ct);
            var current = stored?.Value ?? await EarlierKeysAsync(bucket, ct);
            var next = KeyRotation.Rotate(current, time.GetUtcNow(), _policy, NewKey);
            if (stored is not null && ReferenceEquals(next, current))
            {
                return Conflicted<KeySet>.Done(current);
            }

            var written = stored is null
                ? await bucket.CreateAsync(EntryKey, next, ct)
                : await bucket.ReplaceAsync(EntryKey, next, stored.Revision, ct);
            if (written is null)
            {
                return Conflicted<KeySet>.Lost;
            }

            LogRotated(string.Join(", ", next.Keys.Select(k => $"{k.Use} {k.Kid} from {k.UsedFrom:u}")));
            return Conflicted<KeySet>.Done(next);
        }, cancellationToken);
        return rotated.Conflict ? throw new InvalidOperationException("the keys kept changing under this node; it asks again shortly") : rotated.Value;
    }

    // Keys from before the ring was one: the login provider's set ("login-keys") and the API's token keys
    // ("key.{kid}"). Taken into the first ring written, so tokens they signed stay valid until they expire.
    private static async Task<KeySet> EarlierKeysAsync(JsonBucket bucket, CancellationToken cancellationToken)
    {
        var keys = (await bucket.TryGetAsync(new Key<KeySet>("login-keys"), cancellationToken))?.Value.Keys.ToList() ?? [];
        await foreach (var key in bucket.KeysAsync("key.*", cancellationToken))
        {
            if (await bucket.TryGetAsync(new Key<EarlierApiKey>(key), cancellationToken) is { } earlier)
            {
                keys.Add(new RingKey(earlier.Value.Kid, KeyUse.Signing, earlier.Value.Pkcs8, earlier.Value.CreatedAt, earlier.Value.CreatedAt));
            }
        }

        return new KeySet(keys);
    }

    private sealed record EarlierApiKey(string Kid, string Pkcs8, DateTimeOffset CreatedAt);

    private void Apply(KeySet set, DateTimeOffset now)
    {
        var signing = KeyRotation.InUseOrder(set, KeyUse.Signing, now);
        var encryption = KeyRotation.InUseOrder(set, KeyUse.Encryption, now);
        var order = string.Join(",", signing.Concat(encryption).Select(k => k.Kid));
        if (_snapshot?.Order == order)
        {
            return;
        }

        _snapshot = new Snapshot(
            [.. signing.Select(k => new SigningCredentials(Import(k), Algorithm))],
            [.. encryption.Select(k => new EncryptingCredentials(Import(k), SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512))],
            order);
        _loaded.TrySetResult();
        LogKeysInUse(signing[0].Kid, signing.Count);
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }

    private SecurityKey Import(RingKey key)
    {
        lock (_imported)
        {
            if (!_imported.TryGetValue(key.Kid, out var imported))
            {
                if (key.Use == KeyUse.Signing)
                {
                    var ecdsa = ECDsa.Create();
                    ecdsa.ImportPkcs8PrivateKey(Convert.FromBase64String(key.Material), out _);
                    imported = new ECDsaSecurityKey(ecdsa) { KeyId = key.Kid };
                }
                else
                {
                    imported = new SymmetricSecurityKey(Convert.FromBase64String(key.Material)) { KeyId = key.Kid };
                }

                _imported[key.Kid] = imported;
            }

            return imported;
        }
    }

    private static (string Kid, string Material) NewKey(KeyUse use)
    {
        var kid = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        if (use == KeyUse.Encryption)
        {
            return (kid, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        }

        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (kid, Convert.ToBase64String(ecdsa.ExportPkcs8PrivateKey()));
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Token keys rotated: {Keys}")]
    private partial void LogRotated(string keys);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tokens are now signed with key {Kid} ({Count} signing keys published)")]
    private partial void LogKeysInUse(string kid, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the token keys failed, keeping the ones loaded: {Reason}")]
    private partial void LogReadFailed(string reason);
}
