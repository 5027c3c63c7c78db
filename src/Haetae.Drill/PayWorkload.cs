using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Pay;

namespace Haetae.Drill;

/// <summary>
/// Pairs of friends with a chat and a shop each: they top up from the bank, send each other money in
/// their chat, accept or decline what they receive, pay at each other's shop (approve, then the keeper
/// captures, voids or refunds), and withdraw; a quarter of the writes are sent again at another
/// site with the same request id, on purpose. Each person keeps a record of what they were acknowledged.
/// Afterwards, with everything answered and settled, every wallet must hold exactly what its owner's
/// records say, every bank account likewise, nothing may be held, and the ledger's audit must pass.
/// </summary>
internal sealed class PayWorkload : IDrillWorkload
{
    private const string Name = "pay";
    private const long StartingTopUp = 50_000;

    /// <summary>How long the checks wait for what the load left unanswered or pending (the platform is whole again by then).</summary>
    private static readonly TimeSpan Settling = TimeSpan.FromSeconds(90);

    private readonly AnsweredWrites _writes = new(Name);
    private readonly List<Payer> _payers = [];

    public string Service => Name;

    public WritePauses Pauses { get; private set; } = new(new Dictionary<string, double>(), new Dictionary<string, double>());

    public async Task SetUpAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var sites = context.Sites;
        var pairs = Math.Max(2, context.Options.People / 8);
        for (var i = 0; i < pairs; i++)
        {
            var a = await SignUpAsync(sites, 2 * i, $"지갑 {i}A", cancellationToken);
            var b = await SignUpAsync(sites, (2 * i) + 1, $"지갑 {i}B", cancellationToken);
            await a.Client.Friends.AddAsync(new AddFriendRequest(b.UserId, null, null), cancellationToken);
            await b.Client.Friends.AddAsync(new AddFriendRequest(a.UserId, null, null), cancellationToken);
            var chat = await a.Client.Chat.CreateAsync([b.UserId], cancellationToken: cancellationToken);
            (a.Partner, b.Partner, a.ChatId, b.ChatId) = (b, a, chat.Id, chat.Id);
            foreach (var payer in new[] { a, b })
            {
                payer.ShopId = (await payer.Client.Pay.OpenMerchantAsync($"가게 {payer.Index}", cancellationToken: cancellationToken)).Id;
                var first = await payer.Client.Pay.TopUpAsync(StartingTopUp, cancellationToken: cancellationToken);
                if (first.State != MoveState.Done)
                {
                    throw new InvalidOperationException($"the first top-up of {payer.UserId} was not done: {first.State} {first.Reason}");
                }

                payer.ToppedUp = StartingTopUp;
            }
        }
    }

    private async Task<Payer> SignUpAsync(IReadOnlyList<Uri> sites, int n, string name, CancellationToken cancellationToken)
    {
        var (client, userId, _) = await DrillPeople.SignUpAsync(sites, n, "pay", name, cancellationToken);
        // The same person's client, trying the next site first: where a retry after a fire would land.
        var elsewhere = new HaetaeClient([.. sites.Skip((n + 1) % sites.Count), .. sites.Take((n + 1) % sites.Count)]) { AccessToken = client.AccessToken };
        var payer = new Payer(n, userId, client, elsewhere);
        _payers.Add(payer);
        return payer;
    }

    public Task RunAsync(DrillContext context, CancellationToken stop) =>
        Task.WhenAll(_payers.Select(p => Task.Run(() => PayAsync(p, context, stop), CancellationToken.None)));

    /// <summary>About twice a second: send money in the chat, answer what came, top up, or withdraw.</summary>
    private async Task PayAsync(Payer payer, DrillContext context, CancellationToken stop)
    {
        var random = new Random(payer.Index);
        while (await ServiceCalls.PauseAsync(random, TimeSpan.FromSeconds(0.5), stop))
        {
            var roll = random.NextDouble();
            var again = random.NextDouble() < 0.25;
            if (roll < 0.4)
            {
                await SendAsync(payer, random.Next(1, 31) * 100, again, context, stop);
            }
            else if (roll < 0.6)
            {
                await AnswerAsync(payer, random.NextDouble() < 0.85, context, stop);
            }
            else if (roll < 0.8)
            {
                await ShopAsync(payer, random, again, context, stop);
            }
            else
            {
                var topUp = roll < 0.92;
                await MoveAsync(payer, topUp, random.Next(1, topUp ? 21 : 11) * 1_000, again, context, stop);
            }
        }
    }

    private async Task SendAsync(Payer payer, long amount, bool again, DrillContext context, CancellationToken stop)
    {
        var requestId = HaetaeClient.NewRequestId();
        var partner = payer.Partner!;
        EnvelopeView? sent = null;
        Task Send(HaetaeClient client) => _writes.ShortOfMoneyIsAnAnswer(async () => sent = await client.Pay.SendAsync(partner.UserId, amount, payer.ChatId, requestId));
        await UntilAnsweredAsync(payer, context, stop, () => Send(payer.Client), () =>
        {
            if (sent is { } envelope)
            {
                payer.Sent[envelope.Id] = amount;
                partner.Inbox.Enqueue((envelope.Id, amount));
            }
        });
        if (sent is { } first && again)
        {
            await UntilAnsweredAsync(payer, context, stop, () => Send(payer.Elsewhere), () => _writes.Compare(first.Id, sent?.Id));
        }
    }

    private async Task AnswerAsync(Payer payer, bool accept, DrillContext context, CancellationToken stop)
    {
        if (!payer.Inbox.TryDequeue(out var envelope))
        {
            return;
        }

        EnvelopeView? answered = null;
        await UntilAnsweredAsync(
            payer,
            context,
            stop,
            async () => answered = accept ? await payer.Client.Pay.AcceptAsync(envelope.Id) : await payer.Client.Pay.DeclineAsync(envelope.Id),
            () => payer.Answered[envelope.Id] = (envelope.Amount, answered!.State == EnvelopeState.Accepted));
    }

    private async Task MoveAsync(Payer payer, bool topUp, long amount, bool again, DrillContext context, CancellationToken stop)
    {
        var requestId = HaetaeClient.NewRequestId();
        BankMoveView? move = null;
        Task Move(HaetaeClient client) => _writes.ShortOfMoneyIsAnAnswer(async () =>
            move = topUp ? await client.Pay.TopUpAsync(amount, requestId) : await client.Pay.WithdrawAsync(amount, requestId));
        await UntilAnsweredAsync(payer, context, stop, () => Move(payer.Client), () =>
        {
            if (move is { } answered)
            {
                payer.Moves[answered.Id] = (topUp, amount);
            }
        });
        if (move is { } first && again)
        {
            await UntilAnsweredAsync(payer, context, stop, () => Move(payer.Elsewhere), () => _writes.Compare(first.Id, move?.Id));
        }
    }

    /// <summary>
    /// The payer pays at the partner's shop: the till asks, the payer approves (again at another site now
    /// and then), and the keeper captures all or part, voids, or leaves it for the checks to capture; a
    /// third of captures are partly refunded (the refund sent again at another site now and then).
    /// </summary>
    private async Task ShopAsync(Payer payer, Random random, bool again, DrillContext context, CancellationToken stop)
    {
        var keeper = payer.Partner!;
        var amount = random.Next(1, 31) * 100L;
        var chargeRequest = HaetaeClient.NewRequestId();
        ChargeView? charge = null;
        await UntilAnsweredAsync(payer, context, stop, async () => charge = await keeper.Client.Pay.ChargeAsync(keeper.ShopId, amount, chargeRequest), () => { });
        if (charge is not { } asked)
        {
            return;
        }

        var sale = new Sale(asked.Id, payer, keeper, amount);
        ChargeView? approved = null;
        Task Approve(HaetaeClient client) => _writes.ShortOfMoneyIsAnAnswer(async () => approved = await client.Pay.ApproveAsync(asked.Code));
        await UntilAnsweredAsync(payer, context, stop, () => Approve(payer.Client), () =>
        {
            if (approved is not null)
            {
                keeper.Sales[sale.ChargeId] = sale;
            }
        });
        if (approved is null || stop.IsCancellationRequested)
        {
            return;
        }

        if (again)
        {
            await UntilAnsweredAsync(payer, context, stop, () => Approve(payer.Elsewhere), () => _writes.Compare(sale.ChargeId, approved?.Id));
        }

        var roll = random.NextDouble();
        if (roll < 0.2)
        {
            await UntilAnsweredAsync(keeper, context, stop, () => keeper.Client.Pay.VoidAsync(sale.ChargeId), () => sale.Settled = true);
        }
        else if (roll < 0.85)
        {
            var take = random.NextDouble() < 0.5 ? amount : random.Next(1, (int)(amount / 100) + 1) * 100L;
            await CaptureAsync(keeper, sale, take, context, stop);
            if (sale.Settled && random.NextDouble() < 0.33)
            {
                var back = random.Next(1, (int)(sale.Captured / 100) + 1) * 100L;
                var refundRequest = HaetaeClient.NewRequestId();
                await UntilAnsweredAsync(keeper, context, stop, () => keeper.Client.Pay.RefundAsync(sale.ChargeId, back, refundRequest), () => sale.Refunded += back);
                if (again)
                {
                    ChargeView? repeated = null;
                    await UntilAnsweredAsync(keeper, context, stop, async () => repeated = await keeper.Elsewhere.Pay.RefundAsync(sale.ChargeId, back, refundRequest), () => _writes.Compare(sale.ChargeId, repeated?.Id));
                }
            }
        }
    }

    private Task CaptureAsync(Payer keeper, Sale sale, long amount, DrillContext context, CancellationToken stop)
    {
        ChargeView? captured = null;
        return UntilAnsweredAsync(keeper, context, stop, async () => captured = await keeper.Client.Pay.CaptureAsync(sale.ChargeId, amount), () =>
        {
            sale.Captured = captured!.Captured;
            sale.Settled = true;
        });
    }

    /// <summary>
    /// Calls until the platform answers (the client fails over between sites with the same request id);
    /// a call the load's end cut short is finished by the checks, with the same request id.
    /// </summary>
    private async Task UntilAnsweredAsync(Payer payer, DrillContext context, CancellationToken stop, Func<Task> call, Action recorded)
    {
        if (await _writes.UntilAnsweredAsync(context, stop, call, recorded) == Outcome.Unavailable)
        {
            payer.Unfinished.Enqueue((call, recorded));
        }
    }

    public async Task<IReadOnlyList<PromiseCheck>> CheckAsync(DrillContext context, CancellationToken cancellationToken)
    {
        using var settling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        settling.CancelAfter(Settling);
        var unsettled = 0L;
        foreach (var payer in _payers)
        {
            // What the load's end cut short, then every envelope still waiting, then every pending move.
            while (payer.Unfinished.TryDequeue(out var unfinished))
            {
                await UntilAnsweredAsync(payer, context, settling.Token, unfinished.Call, unfinished.Recorded);
            }
        }

        foreach (var payer in _payers)
        {
            while (!payer.Inbox.IsEmpty)
            {
                await AnswerAsync(payer, accept: true, context, settling.Token);
            }
        }

        foreach (var sale in _payers.SelectMany(p => p.Sales.Values).Where(s => !s.Settled).ToList())
        {
            await CaptureAsync(sale.Keeper, sale, sale.Amount, context, settling.Token);
        }

        foreach (var payer in _payers)
        {
            foreach (var (id, (topUp, amount)) in payer.Moves)
            {
                try
                {
                    var settled = await CheckHelpers.EventuallyAsync(settling.Token, ct => payer.Client.Pay.MoveAsync(id, ct), m => m.State != MoveState.Pending);
                    if (settled.State == MoveState.Done)
                    {
                        payer.ToppedUp += topUp ? amount : 0;
                        payer.Withdrawn += topUp ? 0 : amount;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    unsettled++;
                }
            }
        }

        var answered = _payers.SelectMany(p => p.Answered).ToDictionary();
        long wrongWallets = 0, held = 0, wrongBank = 0, wrongTills = 0;
        var sales = _payers.SelectMany(p => p.Sales.Values).ToList();
        var examples = new List<string>();
        foreach (var payer in _payers)
        {
            var sentAway = payer.Sent.Sum(s => answered.TryGetValue(s.Key, out var a) && a.Accepted ? s.Value : 0);
            var received = payer.Answered.Values.Sum(a => a.Accepted ? a.Amount : 0);
            var paidAtShops = sales.Where(x => x.Payer == payer).Sum(x => x.Captured - x.Refunded);
            var expected = payer.ToppedUp - payer.Withdrawn - sentAway + received - paidAtShops;
            var wallet = await payer.Client.Pay.WalletAsync(cancellationToken);
            if (wallet.Balance != expected)
            {
                wrongWallets++;
                if (examples.Count < 3)
                {
                    examples.Add($"{payer.UserId} holds ₩{wallet.Balance:N0}, its records say ₩{expected:N0}");
                }
            }

            if (wallet.Held != 0 || wallet.Incoming != 0)
            {
                held++;
                if (examples.Count < 3)
                {
                    examples.Add($"{payer.UserId} has ₩{wallet.Held:N0} held and ₩{wallet.Incoming:N0} incoming");
                }
            }

            var bank = context.Bank is null ? null : await context.Bank.BalanceAsync(payer.UserId, cancellationToken);
            wrongBank += bank != Haetae.Cluster.BankApp.OpeningBalance - payer.ToppedUp + payer.Withdrawn ? 1 : 0;
            var till = (await payer.Client.Pay.MerchantsAsync(cancellationToken)).Single();
            var takings = payer.Sales.Values.Sum(x => x.Captured - x.Refunded);
            if (till.Balance != takings || till.Approved != 0)
            {
                wrongTills++;
                if (examples.Count < 3)
                {
                    examples.Add($"shop {till.Id} holds ₩{till.Balance:N0} (₩{till.Approved:N0} approved, not captured), its keeper's records say ₩{takings:N0}");
                }
            }
        }

        var audit = await AuditAsync(context, cancellationToken);
        var (pauses, healPauses) = AckPauses.Of(_writes.Acks.Select(a => (Ledger.StreamName, a)), context);
        Pauses = new WritePauses(pauses.ToDictionary(p => p.Key, p => p.Value.TotalSeconds), healPauses.ToDictionary(p => p.Key, p => p.Value.TotalSeconds));
        List<PromiseCheck> checks =
        [
            new(Service, "the ledger's audit passes (double entry, every balance its entries' fold, never below zero, ids once)", audit.Transfers, audit.Violations.Count,
                $"{audit.Transfers} transfers in {audit.Accounts} accounts, sum of balances ₩{audit.SumOfBalances:N0}" + (audit.Violations.Count == 0 ? "" : "; " + string.Join("; ", audit.Violations.Take(3)))),
            new(Service, "every wallet holds exactly what its owner was acknowledged (no payment lost, none applied twice)", _payers.Count, wrongWallets,
                $"{wrongWallets} of {_payers.Count} wallets differ from their owners' records" + (examples.Count == 0 ? "" : "; e.g. " + string.Join("; ", examples))),
            new(Service, "every bank account moved by exactly the top-ups and withdrawals acknowledged", _payers.Count, wrongBank, $"{wrongBank} of {_payers.Count} bank accounts differ"),
            new(Service, "every shop's till holds exactly what it captured less what it refunded", _payers.Count, wrongTills,
                $"{wrongTills} of {_payers.Count} tills differ; {sales.Count} payments approved, {sales.Count(x => x.Captured > 0)} captured, {sales.Count(x => x.Refunded > 0)} partly refunded"),
            new(Service, "every hold resolved: nothing held or on its way once everything was answered", _payers.Count + _payers.Sum(p => (long)p.Moves.Count), held + unsettled,
                $"{held} wallets with money held, {unsettled} top-ups or withdrawals still pending after {Settling.TotalSeconds:0} s" + (examples.Count == 0 ? "" : "; e.g. " + string.Join("; ", examples))),
            _writes.Retries(Service),
            _writes.NoneRefused(Service, "pay", "payments"),
        ];
        checks.AddRange(AckPauses.Checks(Service, Pauses, context));
        return checks;
    }

    /// <summary>The whole ledger read and checked at the first site that answers.</summary>
    internal static async Task<AuditReport> AuditAsync(DrillContext context, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", context.AdminKey);
        Exception? last = null;
        foreach (var site in context.Sites)
        {
            try
            {
                return (await http.GetFromJsonAsync<AuditReport>(new Uri(site, "admin/pay/audit"), HaetaeJson.Options, cancellationToken))!;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = e;
            }
        }

        throw new InvalidOperationException($"no site answered the pay audit: {last?.Message}", last);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var payer in _payers)
        {
            payer.Client.Dispose();
            payer.Elsewhere.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private sealed class Payer(int index, string userId, HaetaeClient client, HaetaeClient elsewhere)
    {
        public int Index { get; } = index;

        public string UserId { get; } = userId;

        public HaetaeClient Client { get; } = client;

        public HaetaeClient Elsewhere { get; } = elsewhere;

        public Payer? Partner { get; set; }

        public string ChatId { get; set; } = "";

        /// <summary>Top-ups and withdrawals the bank confirmed (pending ones are added once they settle).</summary>
        public long ToppedUp { get; set; }

        public long Withdrawn { get; set; }

        public ConcurrentDictionary<string, (bool TopUp, long Amount)> Moves { get; } = new();

        public ConcurrentDictionary<string, long> Sent { get; } = new();

        public ConcurrentQueue<(string Id, long Amount)> Inbox { get; } = new();

        public ConcurrentDictionary<string, (long Amount, bool Accepted)> Answered { get; } = new();

        public ConcurrentQueue<(Func<Task> Call, Action Recorded)> Unfinished { get; } = new();

        public string ShopId { get; set; } = "";

        /// <summary>Payments approved at this person's shop, by charge id.</summary>
        public ConcurrentDictionary<string, Sale> Sales { get; } = new();
    }

    /// <summary>A payment at a shop as its keeper recorded it: what was approved, captured and refunded.</summary>
    private sealed class Sale(string chargeId, Payer payer, Payer keeper, long amount)
    {
        public string ChargeId { get; } = chargeId;

        public Payer Payer { get; } = payer;

        public Payer Keeper { get; } = keeper;

        public long Amount { get; } = amount;

        /// <summary>Captured or voided: the hold is settled.</summary>
        public bool Settled { get; set; }

        public long Captured { get; set; }

        public long Refunded { get; set; }
    }
}
