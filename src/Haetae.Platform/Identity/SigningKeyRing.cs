using System.Collections.Concurrent;
using System.Security.Cryptography;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using NATS.Client.KeyValueStore;

namespace Haetae.Platform.Identity;

/// <summary>A signing key as stored in the replicated signing-keys bucket (key.KID).</summary>
public sealed record StoredSigningKey(string Kid, string Algorithm, string Pkcs8, DateTimeOffset CreatedAt);

/// <summary>
/// The token signing keys, the same at every site: they live in the replicated signing-keys bucket, and
/// every node keeps a copy in memory, updated by watching the bucket. The first node to find no key
/// creates one; compare-and-set makes every node agree on which key is current.
/// </summary>
public sealed partial class SigningKeyRing(Buckets buckets, ILogger<SigningKeyRing> logger) : BackgroundService
{
    private const string CurrentKey = "current";
    private readonly ConcurrentDictionary<string, ECDsaSecurityKey> _keys = new();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _currentKid;

    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully;

    /// <summary>The key that signs new tokens.</summary>
    public async Task<(string Kid, ECDsaSecurityKey Key)> CurrentAsync(CancellationToken cancellationToken)
    {
        await _loaded.Task.WaitAsync(cancellationToken);
        var kid = _currentKid!;
        return (kid, _keys[kid]);
    }

    /// <summary>Keys that may have signed a token with this key id (for JWT validation; synchronous by design of the handler).</summary>
    public IEnumerable<SecurityKey> Resolve(string? kid) =>
        kid is not null && _keys.TryGetValue(kid, out var key) ? [key] : [];

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => ResilientWatch.RunAsync(
        async ct =>
        {
            var bucket = await buckets.GetAsync(Assets.SigningKeysBucket);
            await EnsureCurrentAsync(bucket, ct);
            var store = await buckets.Context.GetStoreAsync(Assets.SigningKeysBucket, ct);
            await foreach (var entry in store.WatchAsync<byte[]>(cancellationToken: ct))
            {
                Apply(entry);
                if (_currentKid is not null && _keys.ContainsKey(_currentKid))
                {
                    _loaded.TrySetResult();
                }
            }
        },
        stoppingToken,
        e => LogWatchFailed(e.Message));

    private async Task EnsureCurrentAsync(JsonBucket bucket, CancellationToken cancellationToken)
    {
        if (await bucket.TryGetAsync<string>(CurrentKey, cancellationToken) is not null)
        {
            return;
        }

        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var kid = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var stored = new StoredSigningKey(kid, Algorithm, Convert.ToBase64String(ecdsa.ExportPkcs8PrivateKey()), DateTimeOffset.UtcNow);
        await bucket.PutAsync($"key.{kid}", stored, cancellationToken);
        if (await bucket.TryCreateAsync(CurrentKey, kid, cancellationToken))
        {
            LogCreatedKey(kid);
        }
    }

    private void Apply(NatsKVEntry<byte[]> entry)
    {
        if (entry.Operation != NatsKVOperation.Put || entry.Value is null)
        {
            return;
        }

        if (entry.Key == CurrentKey)
        {
            _currentKid = System.Text.Json.JsonSerializer.Deserialize<string>(entry.Value);
        }
        else if (entry.Key.StartsWith("key.", StringComparison.Ordinal))
        {
            var stored = System.Text.Json.JsonSerializer.Deserialize<StoredSigningKey>(entry.Value, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
            var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(Convert.FromBase64String(stored.Pkcs8), out _);
            _keys[stored.Kid] = new ECDsaSecurityKey(ecdsa) { KeyId = stored.Kid };
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the first token signing key {Kid}")]
    private partial void LogCreatedKey(string kid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching the signing keys failed, retrying: {Reason}")]
    private partial void LogWatchFailed(string reason);
}

/// <summary>Ready once the signing keys are loaded: before that, the node could neither sign nor check a token.</summary>
public sealed class SigningKeysReadyCheck(SigningKeyRing ring) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(ring.IsLoaded
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy()
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("Token signing keys are not loaded yet."));
}
