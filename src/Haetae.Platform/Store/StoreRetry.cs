using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Polly;
using Polly.Retry;

namespace Haetae.Platform.Store;

/// <summary>
/// The one answer to "is this an outage?": failures that a site loss or an election produce and that a
/// retry with the same message id or revision resolves. A compare-and-set conflict or a duplicate is an
/// answer, not an outage.
/// </summary>
public static class StoreFailures
{
    public static bool IsTransient(Exception e) => e switch
    {
        NatsKVCreateException or NatsKVWrongLastRevisionException or NatsJSDuplicateMessageException => false,
        // 503: no leader; 408: timed out; 500: the leader lost its quorum mid-request; 404: the stream is still being provisioned at start-up.
        NatsJSApiException api => api.Error.Code is 503 or 408 or 500 or 404,
        NatsException or TimeoutException or OperationCanceledException => true,
        _ => false,
    };
}

/// <summary>
/// The store kit's named retry policies, each a Polly resilience pipeline: use one of these instead of a
/// loop of your own. Every policy stops when the caller's cancellation token fires.
/// </summary>
public static class StoreRetry
{
    /// <summary>How long a call waits out an election before the failure is the caller's (an election takes seconds).</summary>
    public static readonly TimeSpan ElectionBudget = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Until the store acknowledges: a publish with its message id is retried through elections and
    /// reconnects, 50 ms doubling to 250 ms, for as long as the caller waits.
    /// </summary>
    public static ResiliencePipeline UntilStored { get; } = Retry(new RetryStrategyOptions
    {
        ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && StoreFailures.IsTransient(e) && !args.Context.CancellationToken.IsCancellationRequested),
        MaxRetryAttempts = int.MaxValue,
        BackoffType = DelayBackoffType.Exponential,
        Delay = TimeSpan.FromMilliseconds(50),
        MaxDelay = TimeSpan.FromMilliseconds(250),
        UseJitter = false,
    });

    /// <summary>Through one election: transient failures are retried (100 ms more each time, up to 500 ms) for <see cref="ElectionBudget"/>.</summary>
    public static ResiliencePipeline ThroughElection { get; } = Retry(new RetryStrategyOptions
    {
        ShouldHandle = args => ValueTask.FromResult(
            args.Outcome.Exception is { } e && StoreFailures.IsTransient(e) && !args.Context.CancellationToken.IsCancellationRequested &&
            args.Context.Properties.TryGetValue(Started, out var started) && TimeProvider.System.GetElapsedTime(started) < ElectionBudget),
        MaxRetryAttempts = int.MaxValue,
        BackoffType = DelayBackoffType.Linear,
        Delay = TimeSpan.FromMilliseconds(100),
        MaxDelay = TimeSpan.FromMilliseconds(500),
        UseJitter = false,
    });

    /// <summary>
    /// Until it works, for start-up work that nothing can do without (provisioning): any failure is
    /// retried, 100 ms more each time up to 1 s.
    /// </summary>
    public static ResiliencePipeline UntilDone { get; } = Retry(new RetryStrategyOptions
    {
        ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
        MaxRetryAttempts = int.MaxValue,
        BackoffType = DelayBackoffType.Linear,
        Delay = TimeSpan.FromMilliseconds(100),
        MaxDelay = TimeSpan.FromSeconds(1),
        UseJitter = false,
    });

    /// <summary>How long a create may be refused for want of peers (a server the meta leader has not yet counted online) before that is an error.</summary>
    public static readonly TimeSpan PlacementPatience = TimeSpan.FromSeconds(30);

    /// <summary>JetStream's "no suitable peers for placement" (err_code 10005).</summary>
    private const int NoSuitablePeers = 10005;

    /// <summary>
    /// Creating a replicated asset: asked again at once when unanswered (when several nodes create the same
    /// asset at once, some get no answer), and every 200 ms for <see cref="PlacementPatience"/> when refused
    /// for want of peers (right after start-up the meta leader can still call a current member "offline").
    /// </summary>
    public static ResiliencePipeline UntilPlaced { get; } = Retry(new RetryStrategyOptions
    {
        ShouldHandle = args => ValueTask.FromResult(!args.Context.CancellationToken.IsCancellationRequested && args.Outcome.Exception switch
        {
            NatsJSApiNoResponseException => true,
            NatsJSApiException e => e.Error.ErrCode == NoSuitablePeers && args.Context.Properties.TryGetValue(Started, out var started) && TimeProvider.System.GetElapsedTime(started) < PlacementPatience,
            _ => false,
        }),
        MaxRetryAttempts = int.MaxValue,
        DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Outcome.Exception is NatsJSApiNoResponseException ? TimeSpan.Zero : TimeSpan.FromMilliseconds(200)),
    });

    /// <summary>Runs <paramref name="call"/> through <paramref name="pipeline"/>, which may look at how long ago it started.</summary>
    public static async Task RunTimedAsync(ResiliencePipeline pipeline, Func<CancellationToken, ValueTask> call, CancellationToken cancellationToken) =>
        await RunTimedAsync(pipeline, async ct =>
        {
            await call(ct);
            return true;
        }, cancellationToken);

    /// <summary>Runs <paramref name="call"/> through <paramref name="pipeline"/>, which may look at how long ago it started.</summary>
    public static async Task<T> RunTimedAsync<T>(ResiliencePipeline pipeline, Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Started, TimeProvider.System.GetTimestamp());
        try
        {
            return await pipeline.ExecuteAsync(static (c, call) => call(c.CancellationToken), context, call);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>A broken watch starts again after 250 ms, for as long as its owner runs (see <see cref="ResilientWatch"/>).</summary>
    public static ResiliencePipeline Rewatch { get; } = Retry(new RetryStrategyOptions
    {
        ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
        MaxRetryAttempts = int.MaxValue,
        BackoffType = DelayBackoffType.Constant,
        Delay = TimeSpan.FromMilliseconds(250),
        UseJitter = false,
    });

    /// <summary>
    /// A compare-and-set lost to another writer: read again and retry, 5 ms more each time up to 50 ms,
    /// at most <paramref name="attempts"/> times; then the conflict is the caller's.
    /// </summary>
    public static ResiliencePipeline<Conflicted<T>> Conflicts<T>(int attempts) => ConflictPipelines<T>.ByAttempts.GetOrAdd(attempts, static n =>
        new ResiliencePipelineBuilder<Conflicted<T>>()
            .AddRetry(new RetryStrategyOptions<Conflicted<T>>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Conflict: true } && !args.Context.CancellationToken.IsCancellationRequested),
                MaxRetryAttempts = n,
                BackoffType = DelayBackoffType.Linear,
                Delay = TimeSpan.FromMilliseconds(5),
                MaxDelay = TimeSpan.FromMilliseconds(50),
                UseJitter = false,
            })
            .Build());

    /// <summary>Pipelines are built once per entry type and attempt count, not on every compare-and-set.</summary>
    private static class ConflictPipelines<T>
    {
        public static readonly System.Collections.Concurrent.ConcurrentDictionary<int, ResiliencePipeline<Conflicted<T>>> ByAttempts = new();
    }

    /// <summary>Runs <paramref name="call"/> through <see cref="ThroughElection"/>.</summary>
    public static Task<T> ThroughElectionAsync<T>(Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken) =>
        RunTimedAsync(ThroughElection, call, cancellationToken);

    /// <summary>Runs <paramref name="call"/> through <see cref="ThroughElection"/>.</summary>
    public static Task<T> ThroughElectionAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken) =>
        ThroughElectionAsync(async _ => await call(), cancellationToken);

    private static readonly ResiliencePropertyKey<long> Started = new("haetae.started");

    private static ResiliencePipeline Retry(RetryStrategyOptions options) => new ResiliencePipelineBuilder().AddRetry(options).Build();
}

/// <summary>The outcome of a compare-and-set attempt: done with a value, or lost to another writer (try again).</summary>
public readonly record struct Conflicted<T>(T Value, bool Conflict)
{
    public static Conflicted<T> Done(T value) => new(value, false);

    public static Conflicted<T> Lost => new(default!, true);
}

/// <summary>
/// One watch that survives its server: it runs until its owner stops, and whenever the watch breaks (a
/// burned site, an election) it starts again through <see cref="StoreRetry.Rewatch"/>.
/// </summary>
public static class ResilientWatch
{
    /// <summary>
    /// Runs <paramref name="watch"/> until <paramref name="stoppingToken"/> fires, starting it again when it
    /// throws or ends; <paramref name="onBroken"/> hears of each break (to log it, or to drop state it kept).
    /// </summary>
    public static async Task RunAsync(Func<CancellationToken, Task> watch, CancellationToken stoppingToken, Action<Exception>? onBroken = null)
    {
        try
        {
            await StoreRetry.Rewatch.ExecuteAsync(
                async ct =>
                {
                    try
                    {
                        await watch(ct);
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        onBroken?.Invoke(e);
                        throw;
                    }

                    // A watch that ends by itself is started again too.
                    ct.ThrowIfCancellationRequested();
                    throw new WatchEndedException();
                },
                stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private sealed class WatchEndedException() : Exception("the watch ended");
}
