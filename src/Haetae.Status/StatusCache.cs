using System.Collections.Concurrent;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using NATS.Client.KeyValueStore;

namespace Haetae.Status;

/// <summary>
/// This node's copy of the incident record and the maintenance schedule, kept by watching the status
/// bucket: the status page, the notices and the outage windows answer from it, so they keep answering
/// (with the last state known, and how old it is) while the store cannot be reached.
/// </summary>
internal sealed class StatusCache(Buckets buckets, TimeProvider time) : BackgroundService, IOutages, IPlatformNotices
{
    /// <summary>How long after recovery people are told how to claim damages (the law's 30 days).</summary>
    public static readonly TimeSpan DamagesNotice = TimeSpan.FromDays(30);

    /// <summary>How long "it is over" stays up after an incident is resolved.</summary>
    public static readonly TimeSpan ResolvedNotice = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, IncidentEntry> _incidents = new();
    private readonly ConcurrentDictionary<string, MaintenanceView> _maintenance = new();
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _noticesGate = new();
    private IReadOnlyList<Notice> _notices = [];

    public event Action? Changed;

    /// <summary>When the watch last heard from the store (an entry, or the end of the initial values).</summary>
    public DateTimeOffset? FreshAt { get; private set; }

    /// <summary>Completes once every stored incident has been read.</summary>
    public Task Loaded => _loaded.Task;

    public IReadOnlyList<IncidentEntry> Entries => [.. _incidents.Values.OrderByDescending(e => e.Incident.Start)];

    public IReadOnlyList<IncidentView> Incidents => [.. Entries.Select(e => e.Incident)];

    public IReadOnlyList<IncidentView> Open => [.. Incidents.Where(i => i.End is null)];

    public IReadOnlyList<MaintenanceView> Maintenance => [.. _maintenance.Values.OrderBy(m => m.From)];

    public IReadOnlyList<Notice> Current => Volatile.Read(ref _notices);

    /// <summary>Webhook subscribers, from the same watch (no key listing per delivery pass: a listing is a consumer of its own).</summary>
    public IReadOnlyList<Subscription> Subscriptions => [.. _subscriptions.Values.OrderBy(s => s.CreatedAt)];

    public IncidentView? Find(string id) => _incidents.TryGetValue(id, out var entry) ? entry.Incident : null;

    /// <summary>Takes a change this node wrote at once (the watch brings it again, which changes nothing).</summary>
    public void Apply(IncidentEntry entry)
    {
        _incidents.AddOrUpdate(entry.Incident.Id, entry, (_, old) => Newer(old, entry));
        Notify();
    }

    /// <summary>
    /// Of two copies of one incident, the later: an incident only moves forward (updates are added, it
    /// ends once), so a watch that brings an older copy after this node's own write does not undo it.
    /// </summary>
    private static IncidentEntry Newer(IncidentEntry old, IncidentEntry incoming) =>
        (old.Incident.End is not null && incoming.Incident.End is null) || old.Incident.Updates.Count > incoming.Incident.Updates.Count ? old : incoming;

    public Task<IReadOnlyList<OutageWindow>> OverlappingAsync(string service, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        IReadOnlyList<OutageWindow> windows = [.. Incidents
            .Where(i => i.Services.Contains(service, StringComparer.Ordinal))
            .Select(i => new OutageWindow(i.Id, i.Start, i.End ?? now, i.Services, i.End is null))
            .Where(w => w.From <= to && w.To >= from)
            .OrderBy(w => w.From)];
        return Task.FromResult(windows);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(
        ResilientWatch.RunAsync(ct => WatchAsync("incident.>", ct, (key, data) =>
        {
            var entry = data is null ? null : JsonSerializer.Deserialize<IncidentEntry>(data, HaetaeJson.Options);
            if (entry is not null)
            {
                _incidents.AddOrUpdate(entry.Incident.Id, entry, (_, old) => Newer(old, entry));
            }
        }), stoppingToken),
        ResilientWatch.RunAsync(ct => WatchAsync("maintenance.>", ct, (key, data) => Mirror(_maintenance, key["maintenance.".Length..], data)), stoppingToken),
        ResilientWatch.RunAsync(ct => WatchAsync("sub.>", ct, (key, data) => Mirror(_subscriptions, key["sub.".Length..], data)), stoppingToken),
        RefreshNoticesAsync(stoppingToken));

    /// <summary>
    /// A watch is an ephemeral consumer on one replica, and one can stay silent after a partition heals
    /// (docs/known-issues.md): so the watch is started again, from the bucket's current values, every
    /// <see cref="Rewatch"/>, and a copy that trailed is whole again within that.
    /// </summary>
    public static readonly TimeSpan Rewatch = TimeSpan.FromSeconds(30);

    /// <summary>Keeps <paramref name="copy"/>'s entry for <paramref name="id"/> as the bucket has it (gone when deleted).</summary>
    private static void Mirror<T>(ConcurrentDictionary<string, T> copy, string id, byte[]? data)
        where T : class
    {
        if ((data is null ? null : JsonSerializer.Deserialize<T>(data, HaetaeJson.Options)) is { } value)
        {
            copy[id] = value;
        }
        else
        {
            copy.TryRemove(id, out _);
        }
    }

    private async Task WatchAsync(string filter, CancellationToken stoppingToken, Action<string, byte[]?> apply)
    {
        using var lap = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        lap.CancelAfter(Rewatch);
        var cancellationToken = lap.Token;
        var store = await buckets.Context.GetStoreAsync(StatusKeys.Bucket, cancellationToken);
        var opts = new NatsKVWatchOpts { OnNoData = _ => { MarkLoaded(filter); return ValueTask.FromResult(false); } };
        try
        {
            await WatchEntriesAsync(store, filter, opts, apply, cancellationToken);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The lap is over: the resilient watch starts the next one.
        }
    }

    private async Task WatchEntriesAsync(INatsKVStore store, string filter, NatsKVWatchOpts opts, Action<string, byte[]?> apply, CancellationToken cancellationToken)
    {
        await foreach (var entry in store.WatchAsync<byte[]>(filter, opts: opts, cancellationToken: cancellationToken))
        {
            apply(entry.Key, entry.Operation == NatsKVOperation.Put ? entry.Value : null);
            FreshAt = time.GetUtcNow();
            if (entry.Delta == 0)
            {
                MarkLoaded(filter);
            }

            Notify();
        }
    }

    private void MarkLoaded(string filter)
    {
        FreshAt = time.GetUtcNow();
        if (filter.StartsWith("incident", StringComparison.Ordinal))
        {
            _loaded.TrySetResult();
        }
    }

    /// <summary>Notices also change with time alone (a resolved notice ends after an hour): looked at again every minute.</summary>
    private async Task RefreshNoticesAsync(CancellationToken stoppingToken)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromMinutes(1), time);
        while (await tick.WaitForNextTickAsync(stoppingToken))
        {
            Notify();
        }
    }

    private void Notify()
    {
        bool changed;
        lock (_noticesGate)
        {
            // Computed and swapped together: a thread with an older view cannot swap last.
            var notices = NoticesAt(Incidents, time.GetUtcNow());
            changed = !_notices.SequenceEqual(notices);
            _notices = notices;
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }

    /// <summary>What people are told at <paramref name="now"/>: each open incident, each resolved in the last hour, and how to claim damages for 30 days after one.</summary>
    public static IReadOnlyList<Notice> NoticesAt(IReadOnlyList<IncidentView> incidents, DateTimeOffset now)
    {
        var notices = new List<Notice>();
        foreach (var i in incidents.Where(i => i.Impact >= IncidentImpact.Minor).OrderByDescending(i => i.Start).Take(10))
        {
            var link = $"/status/incidents/{i.Id}";
            if (i.End is null)
            {
                var latest = i.Updates[^1];
                notices.Add(new Notice(i.Id, NoticeKind.Incident, i.Title, i.TitleKo, latest.Text, latest.TextKo, latest.At, link));
                continue;
            }

            if (now - i.End.Value < ResolvedNotice)
            {
                notices.Add(new Notice(i.Id, NoticeKind.Resolved, i.Title, i.TitleKo,
                    $"Resolved after {Duration(i.End.Value - i.Start)}. Everything works again.", $"{DurationKo(i.End.Value - i.Start)} 만에 복구되었습니다. 모든 서비스가 정상입니다.", i.End.Value, link));
            }

            if (now - i.End.Value < DamagesNotice)
            {
                notices.Add(new Notice(i.Id, NoticeKind.Damages, i.Title, i.TitleKo,
                    $"If this outage cost you, you can claim damages until {(i.End.Value + DamagesNotice).UtcDateTime:yyyy-MM-dd}: see the incident's page.",
                    $"이 장애로 피해를 입으셨다면 {(i.End.Value + DamagesNotice).UtcDateTime:yyyy-MM-dd}까지 손해배상을 청구하실 수 있습니다. 장애 페이지를 확인해 주세요.",
                    i.End.Value, link + "#damages"));
            }
        }

        return notices;
    }

    public static string Duration(TimeSpan d) => d.TotalHours >= 1 ? $"{(int)d.TotalHours} h {d.Minutes} min" : d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes} min {d.Seconds} s" : $"{d.TotalSeconds:0} s";

    public static string DurationKo(TimeSpan d) => d.TotalHours >= 1 ? $"{(int)d.TotalHours}시간 {d.Minutes}분" : d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes}분 {d.Seconds}초" : $"{d.TotalSeconds:0}초";
}
