using Haetae.Pay;
using Haetae.Platform.Hosting;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>Pay's ledger against the real servers: money moves once, whole, and never below zero, whichever site writes.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class LedgerTests(SharedClusterFixture fixture)
{
    private static readonly DateTimeOffset At = DateTimeOffset.UtcNow;

    /// <summary>A ledger at each site, and accounts of this test's own (a bank, which may go below zero, and wallets, which may not).</summary>
    private sealed class Books(SiteConnections sites) : IAsyncDisposable
    {
        private readonly string _run = Guid.NewGuid().ToString("N")[..8];

        public Ledger[] At { get; } = [.. sites.Connections.Select(c => new Ledger(c, TimeProvider.System))];

        public string Id(string name) => $"{name}-{_run}";

        public async Task<string> OpenAsync(string name, CancellationToken ct)
        {
            await At[0].OpenAsync(Id(name), name == "bank" ? AccountFlags.None : AccountFlags.DebitsMustNotExceedCredits, ct);
            return Id(name);
        }

        /// <summary>The whole ledger, every test's transfers so far, read and checked.</summary>
        public Task<AuditReport> AuditAsync(CancellationToken ct) => At[2].AuditAsync(ct);

        public ValueTask DisposeAsync() => sites.DisposeAsync();
    }

    private async Task<Books> BooksAsync() => new(await fixture.Cluster.ConnectEachSiteAsync());

    [Fact]
    public async Task Spending_from_three_sites_at_once_never_goes_below_zero_and_the_sum_stays_zero()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var books = await BooksAsync();
        var (bank, minji, cafe) = (await books.OpenAsync("bank", ct), await books.OpenAsync("w-minji", ct), await books.OpenAsync("m-cafe", ct));
        await books.At[0].ExecuteAsync(new Transfer(books.Id("top"), bank, minji, 30_000, TransferKind.Posted, "top-up", At), ct);

        // Fifteen payments of ₩7,000 from three sites at the same instant: four fit in ₩30,000.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 15).Select(async i =>
        {
            try
            {
                await books.At[i % 3].ExecuteAsync(new Transfer(books.Id($"pay{i}"), minji, cafe, 7_000, TransferKind.Posted, "payment", At), ct);
                return true;
            }
            catch (LedgerRefusal e) when (e.Reason == Refusal.ExceedsCredits)
            {
                return false;
            }
        }));

        Assert.Equal(4, outcomes.Count(paid => paid));
        var states = await Task.WhenAll(new[] { bank, minji, cafe }.Select(a => books.At[1].AccountAsync(a, ct)));
        Assert.Equal([-30_000L, 2_000L, 28_000L], states.Select(s => s!.Balance));
        Assert.Equal(0, states.Sum(s => s!.Balance));
        var audit = await books.AuditAsync(ct);
        Assert.True(audit.Sound, string.Join("; ", audit.Violations));
        Assert.True(audit.Transfers >= 5, $"the audit read {audit.Transfers} transfers");
    }

    [Fact]
    public async Task A_retried_transfer_returns_its_first_result_and_the_same_id_with_other_details_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var books = await BooksAsync();
        var (bank, jun) = (await books.OpenAsync("bank", ct), await books.OpenAsync("w-jun", ct));

        var first = new Transfer(books.Id("top"), bank, jun, 10_000, TransferKind.Posted, "top-up", At);
        await books.At[0].ExecuteAsync(first, ct);
        // The same request at every site, at the same instant: applied once.
        await Task.WhenAll(books.At.Select(l => l.ExecuteAsync(first with { At = At.AddSeconds(1) }, ct)));
        Assert.Equal(10_000, (await books.At[2].AccountAsync(jun, ct))!.Balance);

        var conflict = await Assert.ThrowsAsync<ApiProblem>(() => books.At[1].ExecuteAsync(first with { Amount = 20_000 }, ct));
        Assert.Equal(409, conflict.Status);
        Assert.Equal(10_000, (await books.At[2].AccountAsync(jun, ct))!.Balance);
    }

    [Fact]
    public async Task An_accounts_history_pages_back_from_the_newest_with_each_transfer()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var books = await BooksAsync();
        var (bank, hana, cafe) = (await books.OpenAsync("bank", ct), await books.OpenAsync("w-hana", ct), await books.OpenAsync("m-cafe", ct));
        await books.At[0].ExecuteAsync(new Transfer(books.Id("top"), bank, hana, 9_000, TransferKind.Posted, "top-up", At), ct);
        await books.At[1].ExecuteAsync(new Transfer(books.Id("coffee"), hana, cafe, 4_500, TransferKind.Posted, "payment", At), ct);
        await books.At[2].ExecuteAsync(new Transfer(books.Id("cake"), hana, cafe, 3_000, TransferKind.Posted, "payment", At), ct);

        var newest = await books.At[1].HistoryAsync(hana, null, 2, ct);
        Assert.Equal([books.Id("cake"), books.Id("coffee")], newest.Select(l => l.Transfer.Id));
        Assert.Equal([1_500L, 4_500L], newest.Select(l => l.Entry.State.Balance));
        var older = await books.At[2].HistoryAsync(hana, newest[^1].Sequence, 2, ct);
        Assert.Equal([books.Id("top")], older.Select(l => l.Transfer.Id));
        Assert.Empty(await books.At[0].HistoryAsync(hana, older[^1].Sequence, 2, ct));
    }

    [Fact]
    public async Task A_hold_is_captured_once_in_part_and_the_rest_is_released()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var books = await BooksAsync();
        var (bank, sora, shop) = (await books.OpenAsync("bank", ct), await books.OpenAsync("w-sora", ct), await books.OpenAsync("m-shop", ct));
        await books.At[0].ExecuteAsync(new Transfer(books.Id("top"), bank, sora, 20_000, TransferKind.Posted, "top-up", At), ct);
        var hold = books.Id("hold");
        await books.At[1].ExecuteAsync(new Transfer(hold, sora, shop, 15_000, TransferKind.Pending, "authorization", At, Expires: At.AddMinutes(10)), ct);
        Assert.Equal(5_000, (await books.At[0].AccountAsync(sora, ct))!.Available);

        // Two captures of the same hold at two sites at once: one settles it, the other is refused.
        var captures = await Task.WhenAll(new[] { 1, 2 }.Select(async site =>
        {
            try
            {
                await books.At[site].ExecuteAsync(new Transfer(books.Id($"capture{site}"), sora, shop, 12_000, TransferKind.PostPending, "capture", At, hold), ct);
                return true;
            }
            catch (LedgerRefusal e) when (e.Reason == Refusal.PendingAlreadyResolved)
            {
                return false;
            }
        }));
        Assert.Single(captures, settled => settled);
        var (payer, payee) = (await books.At[0].AccountAsync(sora, ct), await books.At[0].AccountAsync(shop, ct));
        Assert.Equal((8_000L, 8_000L, 0L), (payer!.Balance, payer.Available, payer.DebitsPending));
        Assert.Equal((12_000L, 0L), (payee!.Balance, payee.CreditsPending));
        var audit = await books.AuditAsync(ct);
        Assert.True(audit.Sound, string.Join("; ", audit.Violations));
    }
}
