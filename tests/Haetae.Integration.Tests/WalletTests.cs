using System.Net;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>Wallets through the API of three real nodes and the sample bank's own process.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class WalletTests(SharedClusterFixture fixture)
{
    private const long Opening = Haetae.Cluster.BankApp.OpeningBalance;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private TestCluster Cluster => fixture.Cluster;

    private HaetaeClient SameCallerAt(HaetaeClient client, int site) => ChatTestUsers.SameCallerAt(Cluster, client, site);

    /// <summary>Runs <paramref name="work"/> while the bank is down or slow, and puts it right after, whatever happens.</summary>
    private async Task<T> WhileTheBankIsAsync<T>(bool down, TimeSpan delay, Func<Task<T>> work)
    {
        var bank = Cluster.Platform.Bank!;
        await bank.SetFaultsAsync(down, delay, TestContext.Current.CancellationToken);
        try
        {
            return await work();
        }
        finally
        {
            await bank.SetFaultsAsync(down: false, TimeSpan.Zero, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_top_up_and_a_withdrawal_move_money_once_between_the_bank_and_the_wallet_whichever_site_the_retry_reaches()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Minji", 0).BuildAsync(ct);
        var (minji, user) = people["Minji"];
        using var retry = SameCallerAt(minji, 2);

        var topUp = await minji.Pay.TopUpAsync(50_000, "topup-1", ct);
        var again = await retry.Pay.TopUpAsync(50_000, "topup-1", ct);
        var withdrawal = await retry.Pay.WithdrawAsync(20_000, "withdraw-1", ct);
        var withdrawnAgain = await minji.Pay.WithdrawAsync(20_000, "withdraw-1", ct);

        Assert.Equal((MoveState.Done, "topup", 50_000L), (topUp.State, topUp.Kind, topUp.Amount));
        Assert.Equal(topUp, again);
        Assert.Equal(MoveState.Done, withdrawal.State);
        Assert.Equal(withdrawal, withdrawnAgain);
        Assert.Equal(new WalletView(30_000, 30_000, 0, 0), await minji.Pay.WalletAsync(ct));
        Assert.Equal(Opening - 50_000 + 20_000, await Cluster.Platform.Bank!.BalanceAsync(user.Id, ct));
        var history = await retry.Pay.HistoryAsync(cancellationToken: ct);
        Assert.Equal(
            [("bank-done", -20_000L, 20_000L), ("withdrawal", 0L, -20_000L), ("bank-done", 50_000L, -50_000L), ("topup", 0L, 50_000L)],
            history.Items.Select(i => (i.Code, i.Amount, i.Held)));
        Assert.All(history.Items, i => Assert.Equal("bank", i.Counterparty.Kind));
    }

    [Fact]
    public async Task A_top_up_the_bank_cannot_answer_stays_pending_and_completes_by_itself_once_when_the_bank_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Jisoo", 1).BuildAsync(ct);
        var (jisoo, user) = people["Jisoo"];
        var bank = Cluster.Platform.Bank!;
        var pending = await WhileTheBankIsAsync(down: true, TimeSpan.Zero, async () =>
        {
            var move = await jisoo.Pay.TopUpAsync(40_000, cancellationToken: ct);
            Assert.Equal(MoveState.Pending, move.State);
            Assert.Equal(new WalletView(0, 0, 0, 40_000), await jisoo.Pay.WalletAsync(ct));
            return move;
        });

        // Nobody asks again: the nodes' reconciler does, with the same key.
        var done = await Eventually.WaitForAsync("the pending top-up settled by the reconciler", Settle, c => jisoo.Pay.MoveAsync(pending.Id, c), m => m.State != MoveState.Pending, ct);

        Assert.Equal(MoveState.Done, done.State);
        Assert.Equal(new WalletView(40_000, 40_000, 0, 0), await jisoo.Pay.WalletAsync(ct));
        Assert.Equal(Opening - 40_000, await bank.BalanceAsync(user.Id, ct));
    }

    [Fact]
    public async Task A_withdrawal_the_bank_answers_slowly_holds_the_money_until_it_is_paid_out_once()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Yuna", 2).BuildAsync(ct);
        var (yuna, user) = people["Yuna"];
        var bank = Cluster.Platform.Bank!;
        await yuna.Pay.TopUpAsync(10_000, cancellationToken: ct);
        var slow = await WhileTheBankIsAsync(down: false, TimeSpan.FromSeconds(8), async () =>
        {
            var move = await yuna.Pay.WithdrawAsync(6_000, "slow-withdrawal", ct);
            Assert.Equal(MoveState.Pending, move.State);
            // Held: a second withdrawal cannot spend the same money meanwhile.
            var refused = await Assert.ThrowsAsync<HaetaeApiException>(() => yuna.Pay.WithdrawAsync(6_000, cancellationToken: ct));
            Assert.Equal(HttpStatusCode.Conflict, refused.Status);
            return move;
        });

        var done = await Eventually.WaitForAsync("the slow withdrawal settled", Settle, c => yuna.Pay.MoveAsync(slow.Id, c), m => m.State != MoveState.Pending, ct);

        Assert.Equal(MoveState.Done, done.State);
        Assert.Equal(new WalletView(4_000, 4_000, 0, 0), await yuna.Pay.WalletAsync(ct));
        Assert.Equal(Opening - 10_000 + 6_000, await bank.BalanceAsync(user.Id, ct));
    }

    [Fact]
    public async Task Money_for_a_friend_is_held_until_accepted_once_and_each_side_sees_the_other_as_they_are_shown()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Friends("Alice", "Bob").Friends("Bob", "Alice").BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var work = await alice.Profiles.CreateAsync(new ProfileRequest("Alice at work", null, null), cancellationToken: ct);
        await alice.Profiles.AssignAsync(work.Id, bobUser.Id, ct);
        await alice.Pay.TopUpAsync(10_000, cancellationToken: ct);

        var sent = await alice.Pay.SendAsync(bobUser.Id, 3_000, requestId: "lunch", cancellationToken: ct);
        var sentAgain = await SameCallerAt(alice, 2).Pay.SendAsync(bobUser.Id, 3_000, requestId: "lunch", cancellationToken: ct);
        var whileWaiting = (await alice.Pay.WalletAsync(ct), await bob.Pay.WalletAsync(ct));
        var accepted = await bob.Pay.AcceptAsync(sent.Id, ct);
        var acceptedAgain = await SameCallerAt(bob, 0).Pay.AcceptAsync(sent.Id, ct);

        Assert.Equal((EnvelopeState.Waiting, aliceUser.Id, bobUser.Id, 3_000L), (sent.State, sent.From, sent.To, sent.Amount));
        Assert.Equal(sent.Id, sentAgain.Id);
        Assert.Equal((new WalletView(10_000, 7_000, 3_000, 0), new WalletView(0, 0, 0, 3_000)), whileWaiting);
        Assert.Equal(EnvelopeState.Accepted, accepted.State);
        Assert.Equal(accepted, acceptedAgain);
        Assert.Equal((new WalletView(7_000, 7_000, 0, 0), new WalletView(3_000, 3_000, 0, 0)), (await alice.Pay.WalletAsync(ct), await bob.Pay.WalletAsync(ct)));
        var bobs = (await bob.Pay.HistoryAsync(cancellationToken: ct)).Items;
        Assert.Equal([("accepted", 3_000L, -3_000L), ("envelope", 0L, 3_000L)], bobs.Select(i => (i.Code, i.Amount, i.Held)));
        Assert.All(bobs, i => Assert.Equal(new Counterparty("person", aliceUser.Id, "Alice at work"), i.Counterparty));
        var alices = (await alice.Pay.HistoryAsync(limit: 1, cancellationToken: ct));
        Assert.Equal(("accepted", -3_000L, "Bob"), (alices.Items[0].Code, alices.Items[0].Amount, alices.Items[0].Counterparty.Name));
        var older = await alice.Pay.HistoryAsync(alices.Next, 10, ct);
        Assert.Equal(["envelope", "bank-done", "topup"], older.Items.Select(i => i.Code));
        Assert.Null(older.Next);
    }

    [Fact]
    public async Task Money_sent_in_a_chat_shows_there_once_for_both_even_when_sent_again_at_another_site_and_moves_when_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 2).Person("Carol", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (carol, _) = people["Carol"];
        var chat = people.Chats[0];
        await alice.Pay.TopUpAsync(20_000, cancellationToken: ct);
        await using var bobsPhone = new HaetaeRealtime(bob);
        await bobsPhone.Live.WaitAsync(DeviceFrames.Phase, ct);

        var sent = await alice.Pay.SendAsync(bobUser.Id, 12_000, chat.Id, "birthday", ct);
        var again = await SameCallerAt(alice, 1).Pay.SendAsync(bobUser.Id, 12_000, chat.Id, "birthday", ct);
        var shown = (await DeviceFrames.NextMessagesAsync(bobsPhone, 1, "the money on Bob's phone", ct))[0];
        var accepted = await bob.Pay.AcceptAsync(shown.Money!.EnvelopeId, ct);

        Assert.Equal(sent, again);
        Assert.Equal((MessageKind.Money, aliceUser.Id, new MoneyNote(sent.Id, 12_000)), (shown.Kind, shown.SenderId, shown.Money));
        Assert.Equal([sent.Id], (await alice.Chat.GetMessagesAsync(chat.Id, cancellationToken: ct)).Messages.Select(m => m.Money?.EnvelopeId));
        Assert.Equal((EnvelopeState.Accepted, chat.Id), (accepted.State, accepted.ChatId));
        Assert.Equal(new WalletView(12_000, 12_000, 0, 0), await bob.Pay.WalletAsync(ct));
        var outsider = await Assert.ThrowsAsync<HaetaeApiException>(() => carol.Pay.SendAsync(bobUser.Id, 1_000, chat.Id, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.NotFound, outsider.Status);
        Assert.Equal(new WalletView(8_000, 8_000, 0, 0), await alice.Pay.WalletAsync(ct));
    }

    [Fact]
    public async Task A_declined_envelope_goes_back_to_its_sender_and_cannot_be_accepted_after()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 2).Person("Bob", 0).Friends("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        await alice.Pay.TopUpAsync(5_000, cancellationToken: ct);
        var sent = await alice.Pay.SendAsync(bobUser.Id, 5_000, cancellationToken: ct);

        var declined = await bob.Pay.DeclineAsync(sent.Id, ct);
        var late = await Assert.ThrowsAsync<HaetaeApiException>(() => bob.Pay.AcceptAsync(sent.Id, ct));

        Assert.Equal(EnvelopeState.Returned, declined.State);
        Assert.Equal(HttpStatusCode.Conflict, late.Status);
        Assert.Equal((new WalletView(5_000, 5_000, 0, 0), new WalletView(0, 0, 0, 0)), (await alice.Pay.WalletAsync(ct), await bob.Pay.WalletAsync(ct)));
    }

    [Fact]
    public async Task Bad_requests_get_a_problem_and_move_no_money()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Person("Carol", 2).Friends("Alice", "Bob").BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (carol, carolUser) = people["Carol"];
        await alice.Pay.TopUpAsync(10_000, "first", ct);
        var envelope = await alice.Pay.SendAsync(bobUser.Id, 1_000, cancellationToken: ct);

        async Task<HttpStatusCode> Refused(Func<Task> call) => (await Assert.ThrowsAsync<HaetaeApiException>(call)).Status;

        Assert.Equal(HttpStatusCode.BadRequest, await Refused(() => alice.Pay.TopUpAsync(0, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await Refused(() => alice.Pay.TopUpAsync(-5, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await Refused(() => alice.Pay.TopUpAsync(long.MaxValue, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await Refused(() => alice.Pay.SendAsync(aliceUser.Id, 100, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await Refused(() => alice.Pay.SendAsync("../../wallet", 100, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.NotFound, await Refused(() => alice.Pay.SendAsync("u00000000000000000000", 100, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.Forbidden, await Refused(() => alice.Pay.SendAsync(carolUser.Id, 100, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.Conflict, await Refused(() => alice.Pay.SendAsync(bobUser.Id, 9_001, cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.Conflict, await Refused(() => alice.Pay.WithdrawAsync(9_001, cancellationToken: ct)));
        Assert.Equal((HttpStatusCode)422, await Refused(() => alice.Pay.TopUpAsync(20_000, "first", ct)));
        Assert.Equal(HttpStatusCode.NotFound, await Refused(() => carol.Pay.AcceptAsync(envelope.Id, ct)));
        Assert.Equal(HttpStatusCode.NotFound, await Refused(() => carol.Pay.EnvelopeAsync(envelope.Id, ct)));
        Assert.Equal(HttpStatusCode.NotFound, await Refused(() => carol.Pay.MoveAsync(envelope.Id, ct)));
        Assert.Equal(HttpStatusCode.Forbidden, await Refused(() => alice.Pay.AcceptAsync(envelope.Id, ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await Refused(() => alice.Pay.HistoryAsync("not-a-cursor", cancellationToken: ct)));
        Assert.Equal(HttpStatusCode.BadRequest, await Refused(() => alice.Pay.HistoryAsync(limit: 0, cancellationToken: ct)));
        await bob.Friends.BlockAsync(aliceUser.Id, ct);
        Assert.Equal(HttpStatusCode.Forbidden, await Refused(() => alice.Pay.SendAsync(bobUser.Id, 100, cancellationToken: ct)));

        Assert.Equal(new WalletView(10_000, 9_000, 1_000, 0), await alice.Pay.WalletAsync(ct));
        Assert.Equal(new WalletView(0, 0, 0, 0), await carol.Pay.WalletAsync(ct));
    }
}
