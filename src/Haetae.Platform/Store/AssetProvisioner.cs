using Haetae.Contracts;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;

namespace Haetae.Platform.Store;

/// <summary>
/// Creates the replicated assets of the modules' catalog (<see cref="AssetCatalog"/>), or updates them to
/// their declared configuration. Safe to run from every node at once and on every start: JetStream treats a create
/// with an identical configuration as a no-op.
/// </summary>
public static class AssetProvisioner
{
    /// <summary>
    /// Creating an R3 asset waits for its Raft group to elect a leader, which can take longer than an
    /// ordinary request may, and when several nodes create the same asset at once some see no answer at
    /// all (docs/known-issues.md). So each asset gets a few seconds, and an unanswered create is asked
    /// again (by then the asset exists and the create is a no-op).
    /// </summary>
    public static readonly TimeSpan ApiTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Provisions every asset of <paramref name="assets"/>, all at once, each retried until it answers or cancelled.</summary>
    public static async Task ProvisionAsync(NatsConnection connection, IEnumerable<Asset> assets, CancellationToken cancellationToken)
    {
        var js = new NatsJSContext(connection, new NatsJSOpts(connection.Opts, requestTimeout: ApiTimeout));
        await Task.WhenAll(assets.Select(asset => ProvisionUntilAnsweredAsync(js, asset, cancellationToken)));
    }

    /// <summary>Provisions <paramref name="asset"/> through <see cref="StoreRetry.UntilPlaced"/> (see <see cref="ApiTimeout"/>).</summary>
    public static Task ProvisionUntilAnsweredAsync(INatsJSContext js, Asset asset, CancellationToken cancellationToken) =>
        StoreRetry.RunTimedAsync(StoreRetry.UntilPlaced, async ct => await ProvisionAsync(js, asset, ct), cancellationToken);

    public static async Task ProvisionAsync(INatsJSContext js, Asset asset, CancellationToken cancellationToken)
    {
        switch (asset)
        {
            case StreamAsset stream:
                await js.CreateOrUpdateStreamAsync(
                    new StreamConfig(stream.Name, [.. stream.Subjects])
                    {
                        NumReplicas = Assets.Replicas,
                        Storage = StreamConfigStorage.File,
                        Retention = StreamConfigRetention.Limits,
                        DuplicateWindow = Assets.DuplicateWindow,
                        AllowDirect = true,
                        AllowAtomicPublish = stream.AllowAtomic,
                    },
                    cancellationToken);
                break;

            case KvAsset kv:
                await new NatsKVContext(js).CreateOrUpdateStoreAsync(
                    new NatsKVConfig(kv.Bucket)
                    {
                        NumberOfReplicas = Assets.Replicas,
                        History = kv.History,
                        MaxAge = kv.MaxAge ?? TimeSpan.Zero,
                        Storage = NatsKVStorageType.File,
                    },
                    cancellationToken);
                break;

            case ObjectStoreAsset obj:
                await ProvisionObjectStoreAsync(js, obj, cancellationToken);
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(asset), asset, "Unknown kind of asset.");
        }
    }

    private static async Task ProvisionObjectStoreAsync(INatsJSContext js, ObjectStoreAsset obj, CancellationToken cancellationToken)
    {
        var config = new NatsObjConfig(obj.Bucket) { NumberOfReplicas = Assets.Replicas, Storage = NatsObjStorageType.File };
        try
        {
            await new NatsObjContext(js).CreateObjectStoreAsync(config, cancellationToken);
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == StreamNameInUse)
        {
            // Already there with another configuration (the client fills in defaults that differ between
            // versions); the replica count is what matters for survival, so check that instead.
            var info = await js.GetStreamAsync(obj.StreamName, cancellationToken: cancellationToken);
            if (info.Info.Config.NumReplicas != Assets.Replicas)
            {
                throw new InvalidOperationException(
                    $"Object store '{obj.Bucket}' exists with {info.Info.Config.NumReplicas} replicas instead of {Assets.Replicas}.", e);
            }
        }
    }

    /// <summary>JetStream's error code for "stream name already in use with a different configuration".</summary>
    private const int StreamNameInUse = 10058;
}
