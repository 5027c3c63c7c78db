using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Haetae.Client;
using Haetae.Contracts;

namespace Haetae.Drill;

/// <summary>
/// Pairs of friends with a chat buy each other gift vouchers at three shops (one kept at each site) and
/// redeem what they receive: the shop's till claims the code (a third of the time three tills at three
/// sites at the same instant, on purpose), then completes the order or releases it and tries again; a
/// quarter of purchases and completions are sent again at another site with the same request id.
/// Afterwards every voucher must be where its buyer's, holder's and shop's records say, none redeemed
/// twice, every wallet and till must hold what those records say, the ledger's audit must pass, and every
/// voucher must have been moved by exactly the recorded outages of gifts that overlapped its validity.
/// </summary>
internal sealed class GiftWorkload : IDrillWorkload
{
    private const string Name = "gifts";
    private const long StartingTopUp = 500_000;
    private static readonly (string Name, ProductKind Kind, long Price)[] Menu = [("아메리카노", ProductKind.Item, 4_500), ("케이크", ProductKind.Item, 6_500), ("₩10,000 상품권", ProductKind.Amount, 10_000)];
    private static readonly TimeSpan Settling = TimeSpan.FromSeconds(90);

    private readonly AnsweredWrites _writes = new(Name);
    private readonly List<Giver> _givers = [];
    private readonly List<Keeper> _keepers = [];
    private readonly ConcurrentDictionary<string, Sold> _sold = new();
    private long _races, _racesWonTwice, _tillsTurnedAway;

    public string Service => Name;

    public WritePauses Pauses { get; private set; } = new(new Dictionary<string, double>(), new Dictionary<string, double>());

    public async Task SetUpAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var sites = context.Sites;
        for (var s = 0; s < sites.Count; s++)
        {
            var (client, userId, _) = await DrillPeople.SignUpAsync(sites, s, "shop", $"가게 주인 {s}", cancellationToken);
            var shop = await client.Pay.OpenMerchantAsync($"선물 가게 {s}", cancellationToken: cancellationToken);
            var keeper = new Keeper(userId, shop.Id, [.. Enumerable.Range(0, sites.Count).Select(t => Elsewhere(sites, s + t, client))]);
            foreach (var (name, kind, price) in Menu)
            {
                keeper.Products.Add(await client.Gifts.AddProductAsync(shop.Id, name, kind, price, cancellationToken: cancellationToken));
            }

            _keepers.Add(keeper);
        }

        var pairs = Math.Max(2, context.Options.People / 16);
        for (var i = 0; i < pairs; i++)
        {
            var a = await SignUpAsync(sites, 2 * i, $"선물 {i}A", cancellationToken);
            var b = await SignUpAsync(sites, (2 * i) + 1, $"선물 {i}B", cancellationToken);
            await a.Client.Friends.AddAsync(new AddFriendRequest(b.UserId, null, null), cancellationToken);
            await b.Client.Friends.AddAsync(new AddFriendRequest(a.UserId, null, null), cancellationToken);
            var chat = await a.Client.Chat.CreateAsync([b.UserId], cancellationToken: cancellationToken);
            (a.Partner, b.Partner, a.ChatId, b.ChatId) = (b, a, chat.Id, chat.Id);
            foreach (var giver in new[] { a, b })
            {
                var first = await giver.Client.Pay.TopUpAsync(StartingTopUp, cancellationToken: cancellationToken);
                if (first.State != MoveState.Done)
                {
                    throw new InvalidOperationException($"the first top-up of {giver.UserId} was not done: {first.State} {first.Reason}");
                }
            }
        }
    }

    /// <summary>The same person's client, trying site <paramref name="n"/> first.</summary>
    private static HaetaeClient Elsewhere(IReadOnlyList<Uri> sites, int n, HaetaeClient client) =>
        new([.. sites.Skip(n % sites.Count), .. sites.Take(n % sites.Count)]) { AccessToken = client.AccessToken };

    private async Task<Giver> SignUpAsync(IReadOnlyList<Uri> sites, int n, string name, CancellationToken cancellationToken)
    {
        var (client, userId, _) = await DrillPeople.SignUpAsync(sites, n, "gift", name, cancellationToken);
        var giver = new Giver(n, userId, client, Elsewhere(sites, n + 1, client));
        _givers.Add(giver);
        return giver;
    }

    public Task RunAsync(DrillContext context, CancellationToken stop) =>
        Task.WhenAll(_givers.Select(g => Task.Run(() => GiveAsync(g, context, stop), CancellationToken.None)));

    /// <summary>About once a second: buy a gift for the partner in the chat, or redeem one received.</summary>
    private async Task GiveAsync(Giver giver, DrillContext context, CancellationToken stop)
    {
        var random = new Random(1_000 + giver.Index);
        while (await ServiceCalls.PauseAsync(random, TimeSpan.FromSeconds(1), stop))
        {
            if (random.NextDouble() < 0.5 || giver.Received.IsEmpty)
            {
                var keeper = _keepers[random.Next(_keepers.Count)];
                await BuyAsync(giver, keeper, keeper.Products[random.Next(keeper.Products.Count)], random.NextDouble() < 0.25, context, stop);
            }
            else if (giver.Received.TryDequeue(out var voucherId))
            {
                await RedeemAsync(giver, _sold[voucherId], random, context, stop);
            }
        }
    }

    private async Task BuyAsync(Giver giver, Keeper keeper, ProductView product, bool again, DrillContext context, CancellationToken stop)
    {
        var requestId = HaetaeClient.NewRequestId();
        var partner = giver.Partner!;
        VoucherView? bought = null;
        Task Buy(HaetaeClient client) => _writes.ShortOfMoneyIsAnAnswer(async () => bought = await client.Gifts.BuyAsync(product.Id, product.Price, partner.UserId, giver.ChatId, requestId));
        await UntilAnsweredAsync(giver.Unfinished, context, stop, () => Buy(giver.Client), () =>
        {
            if (bought is { } voucher)
            {
                _sold[voucher.Id] = new Sold(voucher.Id, giver, partner, keeper, voucher.Price, voucher.Issued);
                partner.Received.Enqueue(voucher.Id);
            }
        });
        if (bought is { } first && again)
        {
            await UntilAnsweredAsync(giver.Unfinished, context, stop, () => Buy(giver.Elsewhere), () => _writes.Compare(first.Id, bought?.Id));
        }
    }

    /// <summary>
    /// The holder shows the code; the shop's till claims it (now and then three tills at three sites at
    /// once: one must win), then completes the order, or releases it and claims it again.
    /// </summary>
    private async Task RedeemAsync(Giver holder, Sold voucher, Random random, DrillContext context, CancellationToken stop)
    {
        VoucherView? shown = null;
        await UntilAnsweredAsync(holder.Unfinished, context, stop, async () => shown = await holder.Client.Gifts.VoucherAsync(voucher.Id), () => { });
        if (shown?.Code is not { } code || stop.IsCancellationRequested)
        {
            holder.Received.Enqueue(voucher.Id);
            return;
        }

        var keeper = voucher.Keeper;
        var race = random.NextDouble() < 0.33;
        var tills = race ? keeper.Tills : [keeper.Tills[random.Next(keeper.Tills.Count)]];
        var claims = await Task.WhenAll(tills.Select(till => ClaimAsync(till, keeper, code, context, stop)));
        var won = claims.OfType<RedemptionView>().ToList();
        if (race)
        {
            Interlocked.Increment(ref _races);
            if (won.Count > 1)
            {
                Interlocked.Increment(ref _racesWonTwice);
            }
        }

        if (won.Count == 0)
        {
            // Every till turned away (or the load ended): the holder tries again later.
            holder.Received.Enqueue(voucher.Id);
            return;
        }

        var redemption = won[0];
        if (random.NextDouble() < 0.2)
        {
            await UntilAnsweredAsync(keeper.Unfinished, context, stop, () => keeper.Tills[0].Gifts.ReleaseAsync(redemption.Id), () => { });
            holder.Received.Enqueue(voucher.Id);
            return;
        }

        await CompleteAsync(keeper, voucher, redemption.Id, random.NextDouble() < 0.25, context, stop);
    }

    private async Task<RedemptionView?> ClaimAsync(HaetaeClient till, Keeper keeper, string code, DrillContext context, CancellationToken stop)
    {
        var requestId = HaetaeClient.NewRequestId();
        RedemptionView? claimed = null;
        await UntilAnsweredAsync(keeper.Unfinished, context, stop, async () =>
        {
            try
            {
                claimed = await till.Gifts.RedeemAsync(keeper.ShopId, code, requestId);
            }
            catch (HaetaeApiException e) when (e.Status == HttpStatusCode.Conflict && e.Title is "Being redeemed" or "Redeemed already")
            {
                // Another till holds it, or completed it meanwhile: the right answer to a till that came second.
                Interlocked.Increment(ref _tillsTurnedAway);
            }
        }, () => { }, finishLater: false);
        return claimed;
    }

    private async Task CompleteAsync(Keeper keeper, Sold voucher, string redemptionId, bool again, DrillContext context, CancellationToken stop)
    {
        RedemptionView? completed = null;
        await UntilAnsweredAsync(keeper.Unfinished, context, stop, async () => completed = await keeper.Tills[0].Gifts.CompleteAsync(redemptionId), () =>
        {
            if (completed?.State == RedemptionState.Completed)
            {
                voucher.Completions.Enqueue(redemptionId);
            }
        });
        if (completed is not null && again)
        {
            RedemptionView? repeated = null;
            await UntilAnsweredAsync(keeper.Unfinished, context, stop, async () => repeated = await keeper.Tills[1 % keeper.Tills.Count].Gifts.CompleteAsync(redemptionId), () =>
                _writes.Compare(completed.ToString(), repeated?.ToString()));
        }
    }

    /// <summary>Calls until answered; what the load's end cut short is finished by the checks (unless <paramref name="finishLater"/> is false).</summary>
    private async Task UntilAnsweredAsync(
        ConcurrentQueue<(Func<Task>, Action)> unfinished, DrillContext context, CancellationToken stop, Func<Task> call, Action recorded, bool finishLater = true)
    {
        if (await _writes.UntilAnsweredAsync(context, stop, call, recorded) == Outcome.Unavailable && finishLater)
        {
            unfinished.Enqueue((call, recorded));
        }
    }

    public async Task<IReadOnlyList<PromiseCheck>> CheckAsync(DrillContext context, CancellationToken cancellationToken)
    {
        using var settling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        settling.CancelAfter(Settling);
        foreach (var queue in _givers.Select(g => g.Unfinished).Concat(_keepers.Select(k => k.Unfinished)))
        {
            while (queue.TryDequeue(out var left))
            {
                await UntilAnsweredAsync(queue, context, settling.Token, left.Item1, left.Item2, finishLater: false);
            }
        }

        // What every voucher is now, as its holder sees it, and the shop's own redemptions of it.
        long lost = 0, redeemedTwice = 0, wrongState = 0;
        var examples = new List<string>();
        var views = new Dictionary<string, VoucherView>();
        foreach (var sold in _sold.Values)
        {
            try
            {
                var view = await sold.Holder.Client.Gifts.VoucherAsync(sold.Id, cancellationToken);
                views[sold.Id] = view;
                var completions = sold.Completions.Distinct().Count();
                redeemedTwice += completions > 1 ? 1 : 0;
                if ((completions == 1) != (view.State == VoucherState.Redeemed) || view.State is VoucherState.Issuing or VoucherState.Refunded)
                {
                    wrongState++;
                    CheckHelpers.Example(examples, $"voucher {sold.Id} is {view.State}, its shop completed {completions} redemptions of it");
                }
            }
            catch (HaetaeApiException e) when (e.Status == HttpStatusCode.NotFound)
            {
                lost++;
                CheckHelpers.Example(examples, $"voucher {sold.Id}, acknowledged to its buyer, is not there");
            }
        }

        // Every wallet and till against the records: a voucher's price leaves the buyer's wallet when it is redeemed, and is held until then.
        long wrongWallets = 0, wrongTills = 0;
        foreach (var giver in _givers)
        {
            var mine = _sold.Values.Where(s => s.Buyer == giver).ToList();
            var redeemed = mine.Where(s => !s.Completions.IsEmpty).Sum(s => s.Price);
            var wallet = await giver.Client.Pay.WalletAsync(cancellationToken);
            if (wallet.Balance != StartingTopUp - redeemed || wallet.Held != mine.Sum(s => s.Price) - redeemed)
            {
                wrongWallets++;
                CheckHelpers.Example(examples, $"{giver.UserId} holds ₩{wallet.Balance:N0} (₩{wallet.Held:N0} held), its records say ₩{StartingTopUp - redeemed:N0} (₩{mine.Sum(s => s.Price) - redeemed:N0} in gifts not yet redeemed)");
            }
        }

        foreach (var keeper in _keepers)
        {
            var theirs = _sold.Values.Where(s => s.Keeper == keeper).ToList();
            var takings = theirs.Where(s => !s.Completions.IsEmpty).Sum(s => s.Price);
            var till = (await keeper.Tills[0].Pay.MerchantsAsync(cancellationToken)).Single();
            if (till.Balance != takings || till.Approved != theirs.Sum(s => s.Price) - takings)
            {
                wrongTills++;
                CheckHelpers.Example(examples, $"shop {till.Id} holds ₩{till.Balance:N0} (₩{till.Approved:N0} in vouchers), its records say ₩{takings:N0}");
            }
        }

        var (moved, wrongMoves, fireVouchers, detail) = await ExtensionsAsync(context, views, cancellationToken);
        var audit = await PayWorkload.AuditAsync(context, cancellationToken);
        var (pauses, healPauses) = AckPauses.Of(_writes.Acks.Select(a => ("KV_gifts", a)), context);
        Pauses = new WritePauses(pauses.ToDictionary(p => p.Key, p => p.Value.TotalSeconds), healPauses.ToDictionary(p => p.Key, p => p.Value.TotalSeconds));
        var redeemedCount = _sold.Values.Count(s => !s.Completions.IsEmpty);
        List<PromiseCheck> checks =
        [
            new(Service, "no voucher redeemed twice (three tills at three sites at once: one holds it; one completion pays the shop)", _sold.Count + _races, redeemedTwice + _racesWonTwice,
                $"{redeemedCount} of {_sold.Count} vouchers redeemed; {_races} races of three tills, {_racesWonTwice} won by two; {_tillsTurnedAway} tills turned away"),
            new(Service, "0 acknowledged purchases or redemptions lost", _sold.Count, lost + wrongState,
                $"{lost} vouchers missing, {wrongState} not as their records say" + (examples.Count == 0 ? "" : "; e.g. " + string.Join("; ", examples))),
            new(Service, "every wallet and till holds what the buyers' and shops' records say", _givers.Count + _keepers.Count, wrongWallets + wrongTills,
                $"{wrongWallets} of {_givers.Count} wallets, {wrongTills} of {_keepers.Count} tills differ"),
            new(Service, "money conserved through pay's audit", audit.Transfers, audit.Violations.Count,
                $"{audit.Transfers} transfers, sum of balances ₩{audit.SumOfBalances:N0}" + (audit.Violations.Count == 0 ? "" : "; " + string.Join("; ", audit.Violations.Take(3)))),
            new(Service, "every voucher moved by exactly the recorded outages of gifts inside its validity", moved, wrongMoves, $"{fireVouchers} vouchers bought before an outage; {detail}"),
            _writes.Retries(Service),
            _writes.NoneRefused(Service, "gifts", "purchases"),
        ];
        checks.AddRange(AckPauses.Checks(Service, Pauses, context));
        return checks;
    }

    /// <summary>
    /// The incident record's outages of gifts since the drill began (waiting for them to end), and every
    /// voucher's expiry against them: its date moved by the union of their parts after it was bought. A
    /// voucher bought before an outage must be moved by that outage's whole duration.
    /// </summary>
    private async Task<(long Checked, long Wrong, long BeforeAnOutage, string Detail)> ExtensionsAsync(
        DrillContext context, Dictionary<string, VoucherView> views, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromSeconds(60));
        List<IncidentView> outages = [];
        var wrong = new List<string>();
        long before = 0;
        while (true)
        {
            outages = [.. (await IncidentsAsync(http, context, cancellationToken)).Where(i => i.Services.Contains(Name) && i.Start >= context.Timeline.StartedAt - TimeSpan.FromSeconds(5))];
            wrong = [];
            before = 0;
            if (outages.All(o => o.End is not null))
            {
                foreach (var (id, view) in views)
                {
                    var fresh = await _sold[id].Holder.Client.Gifts.VoucherAsync(id, cancellationToken);
                    var expected = Expected(fresh.Issued, outages);
                    var got = fresh.Expires - fresh.ValidUntil;
                    before += outages.Any(o => o.Start >= fresh.Issued) ? 1 : 0;
                    // Bought before an outage: moved by at least all of it (overlapping outages count once).
                    var whole = outages.Where(o => o.Start >= fresh.Issued).All(o => got >= o.End!.Value - o.Start);
                    if (Math.Abs((got - expected).TotalMilliseconds) > 2 || !whole)
                    {
                        wrong.Add($"{id} moved by {got.TotalSeconds:0.000} s, the record says {expected.TotalSeconds:0.000} s");
                    }
                }

                if (wrong.Count == 0)
                {
                    break;
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), wait.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        var listed = string.Join(", ", outages.Select(o => $"{o.Id} ({((o.End ?? DateTimeOffset.UtcNow) - o.Start).TotalSeconds:0.0} s)"));
        return (views.Count, wrong.Count, before, (outages.Count == 0 ? "no outage of gifts recorded" : "outages " + listed) + (wrong.Count == 0 ? "" : "; e.g. " + string.Join("; ", wrong.Take(3))));
    }

    /// <summary>The union of the outages' parts after <paramref name="issued"/> (all of them lie well inside a year's validity).</summary>
    private static TimeSpan Expected(DateTimeOffset issued, IEnumerable<IncidentView> outages)
    {
        var total = TimeSpan.Zero;
        var covered = issued;
        foreach (var o in outages.OrderBy(o => o.Start))
        {
            var from = o.Start > covered ? o.Start : covered;
            if (o.End is { } end && end > from)
            {
                total += end - from;
                covered = end;
            }
        }

        return total;
    }

    private static async Task<IReadOnlyList<IncidentView>> IncidentsAsync(HttpClient http, DrillContext context, CancellationToken cancellationToken)
    {
        foreach (var site in context.Sites)
        {
            try
            {
                return await http.GetFromJsonAsync<List<IncidentView>>(new Uri(site, "api/status/incidents?limit=1000"), HaetaeJson.Options, cancellationToken) ?? [];
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The next site.
            }
        }

        throw new InvalidOperationException("no site answered the incident record");
    }

    public ValueTask DisposeAsync()
    {
        foreach (var giver in _givers)
        {
            giver.Client.Dispose();
            giver.Elsewhere.Dispose();
        }

        foreach (var till in _keepers.SelectMany(k => k.Tills))
        {
            till.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private sealed class Giver(int index, string userId, HaetaeClient client, HaetaeClient elsewhere)
    {
        public int Index { get; } = index;

        public string UserId { get; } = userId;

        public HaetaeClient Client { get; } = client;

        public HaetaeClient Elsewhere { get; } = elsewhere;

        public Giver? Partner { get; set; }

        public string ChatId { get; set; } = "";

        /// <summary>Vouchers received and not yet redeemed.</summary>
        public ConcurrentQueue<string> Received { get; } = new();

        public ConcurrentQueue<(Func<Task>, Action)> Unfinished { get; } = new();
    }

    /// <summary>A shop's keeper, with a till at every site (the same person's client trying each site first).</summary>
    private sealed class Keeper(string userId, string shopId, IReadOnlyList<HaetaeClient> tills)
    {
        public string UserId { get; } = userId;

        public string ShopId { get; } = shopId;

        public IReadOnlyList<HaetaeClient> Tills { get; } = tills;

        public List<ProductView> Products { get; } = [];

        public ConcurrentQueue<(Func<Task>, Action)> Unfinished { get; } = new();
    }

    /// <summary>A voucher as its buyer was told it was sold, and the redemptions its shop was told were completed.</summary>
    private sealed class Sold(string id, Giver buyer, Giver holder, Keeper keeper, long price, DateTimeOffset issued)
    {
        public string Id { get; } = id;

        public Giver Buyer { get; } = buyer;

        public Giver Holder { get; } = holder;

        public Keeper Keeper { get; } = keeper;

        public long Price { get; } = price;

        public DateTimeOffset Issued { get; } = issued;

        public ConcurrentQueue<string> Completions { get; } = new();
    }
}
