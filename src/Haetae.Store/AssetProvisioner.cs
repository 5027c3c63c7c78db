using Haetae.Contracts;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;

namespace Haetae.Store;

/// <summary>
/// Creates the replicated assets of <see cref="Assets.All"/>, or updates them to the catalog's
/// configuration. Safe to run from every node at once and on every start: JetStream treats a create
/// with an identical configuration as a no-op.
/// </summary>
public static class AssetProvisioner
{
    /// <summary>
    /// Creating an R3 asset waits for its Raft group to elect a leader, which can take longer than an
    /// ordinary request may. When several nodes create the same asset at once, the server answers only
    /// some of them and the others see no response at all (nats-server 2.9.10, and still 2.15.1: 12 of 60
    /// creators unanswered within 10 s, EngineTests). So each asset gets a few seconds, and an unanswered
    /// create is asked again (by then the asset exists and the create is a no-op).
    /// </summary>
    public static readonly TimeSpan ApiTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Provisions every asset of the catalog, all at once, each retried until it answers or cancelled.</summary>
    public static async Task ProvisionAsync(NatsConnection connection, CancellationToken cancellationToken)
    {
        var js = new NatsJSContext(connection, new NatsJSOpts(connection.Opts, requestTimeout: ApiTimeout));
        await Task.WhenAll(Assets.All.Select(asset => ProvisionUntilAnsweredAsync(js, asset, cancellationToken)));
    }

    /// <summary>How long a create may be refused for want of peers (a server the meta leader has not yet counted online) before that is an error.</summary>
    public static readonly TimeSpan PlacementPatience = TimeSpan.FromSeconds(30);

    /// <summary>JetStream's "no suitable peers for placement" (err_code 10005).</summary>
    private const int NoSuitablePeers = 10005;

    /// <summary>
    /// Provisions <paramref name="asset"/>, asking again while the create goes unanswered (see <see cref="ApiTimeout"/>),
    /// and, for up to <see cref="PlacementPatience"/>, while it is refused for want of peers: right after start-up
    /// the meta leader can count every server as a current member and still call one "offline" for placement
    /// (seen once in CI on 2.15.1: "no suitable peers for placement, peer offline").
    /// </summary>
    public static async Task ProvisionUntilAnsweredAsync(INatsJSContext js, Asset asset, CancellationToken cancellationToken)
    {
        var patience = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await ProvisionAsync(js, asset, cancellationToken);
                return;
            }
            catch (NatsJSApiNoResponseException) when (!cancellationToken.IsCancellationRequested)
            {
                // Unanswered (see above): ask again.
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == NoSuitablePeers && patience.Elapsed < PlacementPatience && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }

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
