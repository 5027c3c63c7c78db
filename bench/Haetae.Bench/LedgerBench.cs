using Haetae.Pay;
using Haetae.Testing;

namespace Haetae.Bench;

/// <summary>
/// Pay's ledger against the same atomic writes straight to JetStream, side by side on one cluster at
/// the same concurrency: workers at the three sites each write one transfer at a time (1) as raw
/// atomic batches of the three messages a transfer is (its subject and two accounts' totals, with the
/// same expectations), (2) through the ledger (which also reads the transfer's id and both accounts
/// first), each worker between accounts of its own, and (3) through the ledger with every worker
/// paying one hot merchant.
/// </summary>
internal static class LedgerBench
{
    public static async Task RunAsync(int workers, int perWorker, TextWriter output)
    {
        await using var cluster = await TestCluster.StartAsync(withNodes: false);
        await using var sites = await cluster.ConnectEachSiteAsync();
        var ledgers = sites.Connections.Select(c => new Ledger(c, TimeProvider.System)).ToArray();
        var run = Guid.NewGuid().ToString("N")[..8];
        await ledgers[0].OpenAsync($"bank-{run}", AccountFlags.None, default);
        await ledgers[0].OpenAsync($"hot-{run}", AccountFlags.DebitsMustNotExceedCredits, default);
        for (var w = 0; w < workers; w++)
        {
            await ledgers[0].OpenAsync($"payer{w}-{run}", AccountFlags.DebitsMustNotExceedCredits, default);
            await ledgers[0].OpenAsync($"payee{w}-{run}", AccountFlags.DebitsMustNotExceedCredits, default);
            await ledgers[0].ExecuteAsync(new Transfer($"top{w}-{run}", $"bank-{run}", $"payer{w}-{run}", 1_000_000, TransferKind.Posted, "top-up", DateTimeOffset.UtcNow), default);
        }

        var raw = await Measure.RawTransfersAsync(sites, workers, perWorker);
        var spread = await Measure.PhaseAsync(workers, perWorker, (w, n) => ledgers[w % 3].ExecuteAsync(
            new Transfer($"t{w}-{n}-{run}", $"payer{w}-{run}", $"payee{w}-{run}", 1, TransferKind.Posted, "payment", DateTimeOffset.UtcNow), default));
        var hot = await Measure.PhaseAsync(workers, perWorker, (w, n) => ledgers[w % 3].ExecuteAsync(
            new Transfer($"h{w}-{n}-{run}", $"payer{w}-{run}", $"hot-{run}", 1, TransferKind.Posted, "payment", DateTimeOffset.UtcNow), default));

        var messages = new List<LedgerMessage>();
        await foreach (var message in ledgers[0].ReadAllAsync(default))
        {
            messages.Add(message);
        }

        var audit = LedgerAudit.Check(messages.Where(m => !m.Subject.Contains(".raw", StringComparison.Ordinal)));
        await output.WriteLineAsync($"ledger benchmark: {workers} workers at 3 sites, {perWorker} transfers each, one at a time per worker");
        await output.WriteLineAsync($"  raw atomic batch (3 messages)     {raw}");
        await output.WriteLineAsync($"  ledger, accounts of their own     {spread}");
        await output.WriteLineAsync($"  ledger, all paying one merchant   {hot}");
        await output.WriteLineAsync($"  ledger / raw {spread.Rate / raw.Rate:0.00}; hot / spread {hot.Rate / spread.Rate:0.00}; audit: {(audit.Sound ? "sound" : string.Join("; ", audit.Violations))}, {audit.Transfers} transfers");
    }
}
