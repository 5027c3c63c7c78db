using System.Collections.Concurrent;
using System.Diagnostics;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Haetae.Testing;

namespace Haetae.Bench;

/// <summary>
/// Pay through the API of three real nodes, side by side in one run on one cluster, at the same
/// concurrency (workers at the three sites, one request at a time each): (1) the same number of
/// three-message atomic batches straight to JetStream, (2) money sent to a friend (one hold in the
/// ledger, with its task and its kept response), (3) payments approved at one hot shop by every worker
/// against (4) payments approved at a shop per worker, and (5) money sent at half the peak rate of (2),
/// for its latency when the platform is not saturated.
/// </summary>
internal static class PayBench
{
    public static async Task RunAsync(int workers, int perWorker, TextWriter output)
    {
        await using var cluster = await TestCluster.StartAsync(withNodes: true);
        await using var sites = await cluster.ConnectEachSiteAsync();
        var people = new List<(HaetaeClient Client, UserView User)>();
        for (var w = 0; w < workers; w++)
        {
            people.Add(await ChatTestUsers.NewAsync(cluster, w % 3, $"payer{w}", default));
        }

        for (var w = 0; w < workers; w++)
        {
            var (client, _) = people[w];
            await client.Friends.AddAsync(new AddFriendRequest(people[(w + 1) % workers].User.Id, null, null));
            await client.Pay.TopUpAsync(900_000);
        }

        // Shops: one for everyone (hot), one per worker (spread), each with its charges asked for ahead.
        // The hot shop's keeper is nobody's payer: a keeper does not pay their own shop.
        var (keeper, _) = await ChatTestUsers.NewAsync(cluster, 0, "keeper", default);
        var hotShop = await keeper.Pay.OpenMerchantAsync("hot");
        var hotCodes = new ConcurrentQueue<string>();
        var ownCodes = new ConcurrentQueue<string>[workers];
        var ownShops = new List<MerchantView>();
        for (var w = 0; w < workers; w++)
        {
            ownShops.Add(await people[(w + 1) % workers].Client.Pay.OpenMerchantAsync($"shop{w}"));
            ownCodes[w] = new ConcurrentQueue<string>();
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            for (var n = 0; n < perWorker; n++)
            {
                hotCodes.Enqueue((await keeper.Pay.ChargeAsync(hotShop.Id, 1)).Code);
                ownCodes[w].Enqueue((await people[(w + 1) % workers].Client.Pay.ChargeAsync(ownShops[w].Id, 1)).Code);
            }
        }));

        var raw = await Measure.RawTransfersAsync(sites, workers, perWorker);
        var sends = await Measure.PhaseAsync(workers, perWorker, (w, _) => people[w].Client.Pay.SendAsync(people[(w + 1) % workers].User.Id, 1));
        var hot = await Measure.PhaseAsync(workers, perWorker, (w, _) => people[w].Client.Pay.ApproveAsync(hotCodes.TryDequeue(out var code) ? code : throw new InvalidOperationException("no code left")));
        var spread = await Measure.PhaseAsync(workers, perWorker, (w, _) => people[w].Client.Pay.ApproveAsync(ownCodes[w].TryDequeue(out var code) ? code : throw new InvalidOperationException("no code left")));
        var paced = await Measure.PhaseAsync(workers, perWorker, (w, _) => people[w].Client.Pay.SendAsync(people[(w + 1) % workers].User.Id, 1), ratePerSecond: sends.Rate / 2);

        await output.WriteLineAsync($"pay benchmark: {workers} workers at 3 sites through the API, {perWorker} requests each, one at a time per worker");
        await output.WriteLineAsync($"  raw atomic batch (3 messages)           {raw}");
        await output.WriteLineAsync($"  API: money to a friend                  {sends}");
        await output.WriteLineAsync($"  API: approve at one hot shop            {hot}");
        await output.WriteLineAsync($"  API: approve at a shop of one's own     {spread}");
        await output.WriteLineAsync($"  API: money to a friend at half its peak {paced}");
        await output.WriteLineAsync($"  API / raw {sends.Rate / raw.Rate:0.00}; hot / spread {hot.Rate / spread.Rate:0.00}; p99 at half the peak {paced.P99:0.0} ms");
        keeper.Dispose();
        foreach (var (client, _) in people)
        {
            client.Dispose();
        }
    }
}

/// <summary>Rates and latencies of a phase of requests, shared by the ledger and pay benchmarks.</summary>
internal static class Measure
{
    public static readonly byte[] Payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { padding = new string('x', 160) }, HaetaeJson.Options);

    /// <summary>
    /// What a transfer is, written straight to JetStream: atomic batches of three messages (its subject and
    /// two accounts' totals, with the same expectations), on subjects of their own (".raw"), each expecting
    /// what its own previous batch left.
    /// </summary>
    public static Task<Phase> RawTransfersAsync(SiteConnections sites, int workers, int perWorker)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var last = new ConcurrentDictionary<string, ulong>();
        return PhaseAsync(workers, perWorker, async (w, n) =>
        {
            var (debit, credit) = ($"pay.acct.raw{w}d-{run}", $"pay.acct.raw{w}c-{run}");
            var ack = await AtomicBatch.PublishAsync(sites.Connections[w % 3], [
                new BatchMessage($"pay.xfer.raw{w}-{n}-{run}", Payload, 0),
                new BatchMessage(debit, Payload, last.GetValueOrDefault(debit)),
                new BatchMessage(credit, Payload, last.GetValueOrDefault(credit))], default);
            (last[debit], last[credit]) = (ack.Sequence - 1, ack.Sequence);
        });
    }

    public sealed record Phase(double Rate, double P50, double P99)
    {
        public override string ToString() => $"{Rate,8:N0}/s   p50 {P50,6:0.0} ms   p99 {P99,6:0.0} ms";
    }

    /// <summary>
    /// Each worker writes <paramref name="perWorker"/> times, one at a time; with <paramref name="ratePerSecond"/>,
    /// the workers together start that many a second on a fixed schedule (a write late for its slot starts at once).
    /// </summary>
    public static async Task<Phase> PhaseAsync(int workers, int perWorker, Func<int, int, Task> write, double? ratePerSecond = null)
    {
        var latencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        var interval = ratePerSecond is { } rate ? TimeSpan.FromSeconds(workers / rate) : TimeSpan.Zero;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var slot = interval * w / workers;
            for (var n = 0; n < perWorker; n++)
            {
                if (interval > TimeSpan.Zero && slot > clock.Elapsed)
                {
                    // Paced: the open-loop schedule, not a wait for an event.
                    await Task.Delay(slot - clock.Elapsed);
                }

                var start = clock.Elapsed.TotalMilliseconds;
                await write(w, n);
                latencies.Add(clock.Elapsed.TotalMilliseconds - start);
                slot += interval;
            }
        })));
        var sorted = latencies.Order().ToArray();
        return new Phase(sorted.Length / clock.Elapsed.TotalSeconds, sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)]);
    }
}
