using System.Collections.Concurrent;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Chat;

/// <summary>
/// Delivery cursors move with every message a device receives and every message a member sends; writing
/// each move would cost two store round trips per message per member. Cursors only ever move forward,
/// so this node gathers the moves and writes the furthest one per (chat, member) every
/// <see cref="FlushInterval"/> with compare-and-set. An explicit "read up to" from a person is written
/// at once instead (see <see cref="Chats.MarkReadAsync"/>).
/// </summary>
internal sealed partial class CursorWriter(Buckets buckets, ILogger<CursorWriter> logger) : BackgroundService
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<(string Chat, string User), Cursor> _pending = new();

    public void Advance(string chatId, string userId, long delivered, long read) =>
        _pending.AddOrUpdate((chatId, userId), _ => Cursor.Start.Advance(delivered, read), (_, c) => c.Advance(delivered, read));

    /// <summary>What this node has not written yet for the member, to merge into what the store says.</summary>
    public Cursor? Pending(string chatId, string userId) => _pending.TryGetValue((chatId, userId), out var c) ? c : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await FlushAsync(stoppingToken);
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = _pending.Keys.Select(k => (Key: k, Cursor: _pending[k])).ToList();
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            var chats = await buckets.GetAsync(Assets.ChatsBucket);
            await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (item, ct) =>
            {
                var (chat, user) = item.Key;
                await chats.UpdateAsync(ChatKeys.Cursor(chat, user), current =>
                    (current ?? Cursor.Start).Advance(item.Cursor.Delivered, item.Cursor.Read), ct);

                // Forget it only if nothing moved it further meanwhile.
                _pending.TryRemove(new KeyValuePair<(string, string), Cursor>(item.Key, item.Cursor));
            });
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Kept pending: the next flush tries again (for example after a shard's election).
            LogFlushFailed(batch.Count, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} cursors failed, will retry: {Reason}")]
    private partial void LogFlushFailed(int count, string reason);
}
