using System.Collections.Concurrent;
using Haetae.Client;
using Haetae.Contracts;

namespace Haetae.Drill;

/// <summary>
/// People chatting 1:1 and in groups, each with a phone connected by WebSocket, some phones moving to
/// other sites now and then. Every acknowledgement and every message a phone received is recorded;
/// afterwards the records are checked against the history the platform returns.
/// </summary>
internal sealed class ChatWorkload : IDrillWorkload
{
    private readonly List<Person> _people = [];
    private readonly Dictionary<string, List<Person>> _chats = [];
    private readonly ConcurrentBag<TimeSpan> _failedSends = [];
    private readonly ConcurrentBag<Ack> _acks = [];
    private const string Name = "chat";
    private readonly ServiceCalls _calls = new(Name);

    public string Service => Name;

    public async Task SetUpAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var sites = context.Sites;
        for (var i = 0; i < context.Options.People; i++)
        {
            var (client, userId, _) = await DrillPeople.SignUpAsync(sites, i, "person", $"사람 {i}", cancellationToken);
            _people.Add(new Person(i, userId, client, context.Notices));
        }

        for (var i = 0; i < _people.Count; i++)
        {
            var (me, next) = (_people[i], _people[(i + 1) % _people.Count]);
            await me.Client.Friends.AddAsync(new AddFriendRequest(next.UserId, null, null), cancellationToken);
            var direct = await me.Client.Chat.CreateAsync([next.UserId], cancellationToken: cancellationToken);
            AddChat(direct.Id, [me, next]);
        }

        for (var i = 0; i + 3 < _people.Count; i += 4)
        {
            var members = _people.Skip(i).Take(4).ToList();
            var group = await members[0].Client.Chat.CreateAsync([.. members.Skip(1).Select(m => m.UserId)], $"모임 {i / 4}", cancellationToken: cancellationToken);
            AddChat(group.Id, members);
        }

        foreach (var person in _people)
        {
            person.Connect(null);
        }

        await Task.WhenAll(_people.Select(p => p.Device!.Live.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken)));
    }

    public Task RunAsync(DrillContext context, CancellationToken stop) =>
        Task.WhenAll(_people.Select(p => Task.Run(() => TalkAsync(p, context, stop), CancellationToken.None)));

    private async Task TalkAsync(Person person, DrillContext context, CancellationToken stop)
    {
        var random = new Random(person.Index);
        var meanDelay = TimeSpan.FromSeconds(1 / context.Options.MessagesPerPersonPerSecond);
        var n = 0;
        while (await ServiceCalls.PauseAsync(random, meanDelay, stop))
        {
            var chatId = person.Chats[random.Next(person.Chats.Count)];
            var requestId = $"p{person.Index}-{n++}";
            var sentAt = context.Timeline.Now;
            // Half the sends go over the phone's realtime connection, half over HTTP: the same promises hold for both.
            var overSocket = random.NextDouble() < 0.5 && person.Device is not null;
            var outcome = await _calls.CallAsync(context.Timeline, async () =>
            {
                // Not cancelled by the stop: a send in flight finishes (or fails) on its own.
                var text = $"{person.Index}: 안녕 #{n}";
                var message = overSocket ? await SendOverSocketAsync(person.Device!, chatId, text, requestId) : await person.Client.Chat.SendTextAsync(chatId, text, requestId);
                _acks.Add(new Ack(chatId, message.Sequence, requestId, sentAt, context.Timeline.Now, person.Client.CurrentSite));
            });
            if (outcome != Outcome.Done)
            {
                _failedSends.Add(sentAt);
            }

            if (random.NextDouble() < 0.05)
            {
                // Now and then the phone moves to another site and resumes there.
                await person.MoveAsync();
            }
        }
    }

    /// <summary>A send over the device's connection, with the HTTP client's patience: what no site answers within it is unavailable.</summary>
    private static async Task<MessageView> SendOverSocketAsync(HaetaeRealtime device, string chatId, string text, string requestId)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            return await device.SendAsync(chatId, text, requestId: requestId, cancellationToken: patience.Token);
        }
        catch (OperationCanceledException e)
        {
            throw new HaetaeUnavailableException("no answer over the realtime connection within 60 s", e);
        }
    }

    public async Task<IReadOnlyList<PromiseCheck>> CheckAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var acks = _acks.ToList();
        var histories = new Dictionary<string, IReadOnlyList<MessageView>>();
        var unreadable = new List<string>();
        foreach (var (chatId, members) in _chats)
        {
            try
            {
                histories[chatId] = await ReadAllAsync(members[0].Client, chatId, cancellationToken);
            }
            catch (Exception e) when (e is HaetaeApiException or HaetaeUnavailableException)
            {
                // The platform refused a member its own chat (forgot the session, the account or the chat: a
                // store that lost what it had acknowledged) or could not serve it: everything acknowledged in
                // the chat counts as lost, and the chat as unreadable.
                histories[chatId] = [];
                var answer = e is HaetaeApiException refused ? $"{(int)refused.Status}" : "unavailable";
                unreadable.Add($"{chatId} ({answer} for person {members[0].Index})");
            }
        }

        // Phones: give them time to receive everything acknowledged, then compare.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline && _people.Any(p => p.Chats.Any(c => p.LastReceived(c) < histories[c].Count)))
        {
            await Task.Delay(200, cancellationToken);
        }

        var byRequest = histories.Values.SelectMany(h => h).GroupBy(m => (m.ChatId, m.RequestId)).ToDictionary(g => g.Key, g => g.Count());
        var lost = acks.Count(a => !byRequest.ContainsKey((a.ChatId, a.RequestId)));
        var duplicates = byRequest.Values.Count(c => c > 1);
        var gapped = histories.Count(h => !h.Value.Select(m => m.Sequence).SequenceEqual(Enumerable.Range(1, h.Value.Count).Select(i => (long)i)));
        var wrongAck = acks.Count(a => histories[a.ChatId].ElementAtOrDefault((int)a.Sequence - 1)?.RequestId != a.RequestId);

        long deliveries = 0, disorder = 0, undelivered = 0;
        var examples = new List<string>();
        var undeliveredExamples = new List<string>();
        foreach (var person in _people)
        {
            foreach (var chatId in person.Chats)
            {
                var received = person.Received(chatId);
                var history = histories[chatId];
                deliveries += received.Count;
                for (var i = 0; i < received.Count; i++)
                {
                    // Each delivery must be the one after the previous, and the message everyone else has there.
                    var inOrder = i == 0 || received[i].Sequence == received[i - 1].Sequence + 1;
                    if (!inOrder || history.ElementAtOrDefault((int)received[i].Sequence - 1)?.RequestId != received[i].RequestId)
                    {
                        disorder++;
                        if (examples.Count < 3)
                        {
                            var stored = history.FirstOrDefault(m => m.RequestId == received[i].RequestId);
                            examples.Add($"person {person.Index} chat {chatId}: after {(i == 0 ? 0 : received[i - 1].Sequence)} came {received[i].Sequence} " +
                                $"({received[i].RequestId}; history has {history.ElementAtOrDefault((int)received[i].Sequence - 1)?.RequestId} there, and {received[i].RequestId} at {stored?.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no sequence"})");
                        }
                    }
                }

                var missing = Math.Max(0, history.Count - person.LastReceived(chatId));
                undelivered += missing;
                if (missing > 0 && undeliveredExamples.Count < 3)
                {
                    undeliveredExamples.Add($"person {person.Index} chat {chatId}: received up to {person.LastReceived(chatId)} of {history.Count}, " +
                        $"device at {person.Client.CurrentSite} after {person.Device?.Reconnects ?? 0} reconnects");
                }
            }
        }

        var (pauses, healPauses) = AckPauses.Of(acks.Select(a => (Assets.ChatStream(Shards.Of(a.ChatId, Assets.ChatShards)), a.AckedAt)), context);
        HealPauses = healPauses;

        // No split brain: a node whose site is cut off cannot gather a quorum, so it acknowledges nothing
        // sent after the cut (a send already committed when the cut fell may still be answered).
        var splitBrain = acks.Count(a => context.Cuts.Any(c => a.Site == c.Node && a.SentAt > c.From + TimeSpan.FromSeconds(1) && a.AckedAt < c.To));
        var checks = new List<PromiseCheck>
        {
            new(Service, "every chat can be read back by its members", histories.Count, unreadable.Count,
                $"{unreadable.Count} of {histories.Count} chats refused to their own members" + (unreadable.Count == 0 ? "" : $"; e.g. {string.Join(", ", unreadable.Take(3))}")),
            new(Service, "every acknowledged message is in the history", acks.Count, lost, $"{lost} of {acks.Count} acknowledged messages missing"),
            new PromiseCheck(Service, "no message stored twice", byRequest.Count, duplicates, $"{duplicates} request ids stored more than once"),
            new PromiseCheck(Service, "each chat's sequence has no gaps", histories.Count, gapped, $"{gapped} of {histories.Count} chats with a gap"),
            new PromiseCheck(Service, "an acknowledgement names the message stored at its sequence", acks.Count, wrongAck, $"{wrongAck} acknowledgements disagree with the history"),
            new PromiseCheck(Service, "every phone saw each chat in the same order, without gaps or duplicates", deliveries, disorder, $"{disorder} of {deliveries} deliveries out of order, doubled or skipped{(examples.Count > 0 ? " (" + string.Join("; ", examples) + ")" : "")}"),
            new PromiseCheck(Service, "every phone received every message of its chats", histories.Values.Sum(h => (long)h.Count), undelivered, $"{undelivered} messages never reached a member's phone" + (undeliveredExamples.Count == 0 ? "" : $"; e.g. {string.Join("; ", undeliveredExamples)}")),
            new PromiseCheck(Service, "no valid request refused", acks.Count + _calls.Refusals, _calls.Refusals, $"{_calls.Refusals} sends refused with a 4xx"),
        };
        if (context.Cuts.Count > 0)
        {
            checks.Add(new PromiseCheck(Service, "a cut-off site acknowledged no write (no split brain)", acks.Count, splitBrain, $"{splitBrain} sends acknowledged by a cut-off site"));
        }

        foreach (var alarm in context.Alarms)
        {
            // The alarm gave warning: from it until the rebuild began (the evacuation, the fire, the site
            // gone) every send must have been acknowledged at once, none waiting for an election.
            var (sends, slowest, slowestAt, failed) = SendsBetween(alarm.From, alarm.To);
            checks.Add(new PromiseCheck(Service, $"with warning no send waited {WarnedPauseBound.TotalSeconds:0} s or more (evacuated, then burned)", sends,
                failed + (slowest >= WarnedPauseBound ? 1 : 0),
                $"{sends} sends from the alarm at {alarm.Site} to its rebuild, slowest acknowledged after {slowest.TotalSeconds:0.000} s " +
                $"(sent {(slowestAt - alarm.From).TotalSeconds:0.00} s after the alarm, {(slowestAt - alarm.FireAt).TotalSeconds:0.00} s from the fire), {failed} never acknowledged; evacuated in {alarm.Evacuation.TotalSeconds:0.0} s"));
        }

        Pauses = new WritePauses(
            pauses.OrderBy(p => p.Key).ToDictionary(p => p.Key, p => p.Value.TotalSeconds),
            HealPauses.OrderBy(p => p.Key).ToDictionary(p => p.Key, p => p.Value.TotalSeconds));
        checks.AddRange(AckPauses.Checks(Service, Pauses, context));
        return checks;
    }

    /// <summary>With warning (the site evacuated first), no send may wait this long: a lame-duck hand-over measured 0.04 to 0.29 s.</summary>
    public static readonly TimeSpan WarnedPauseBound = TimeSpan.FromSeconds(1);

    public WritePauses Pauses { get; private set; } = new(new Dictionary<string, double>(), new Dictionary<string, double>());

    /// <summary>
    /// Sends made from <paramref name="from"/> to <paramref name="to"/>: how many, the slowest one's time from
    /// the send to its acknowledgement and when it was sent, and how many were never acknowledged.
    /// </summary>
    public (int Sends, TimeSpan Slowest, TimeSpan SlowestSentAt, int Failed) SendsBetween(TimeSpan from, TimeSpan to)
    {
        var acks = _acks.Where(a => a.SentAt >= from && a.SentAt <= to).ToList();
        var failed = _failedSends.Count(t => t >= from && t <= to);
        var slowest = acks.MaxBy(a => a.AckedAt - a.SentAt);
        return (acks.Count + failed, slowest is null ? TimeSpan.Zero : slowest.AckedAt - slowest.SentAt, slowest?.SentAt ?? from, failed);
    }

    /// <summary>The longest time between two acknowledgements per stream (CHAT_03) while a healed partition converged.</summary>
    public IReadOnlyDictionary<string, TimeSpan> HealPauses { get; private set; } = new Dictionary<string, TimeSpan>();

    public async ValueTask DisposeAsync()
    {
        foreach (var person in _people)
        {
            await person.DisconnectAsync();
            person.Client.Dispose();
        }
    }

    private void AddChat(string chatId, List<Person> members)
    {
        _chats[chatId] = members;
        foreach (var member in members)
        {
            member.Chats.Add(chatId);
        }
    }

    private static async Task<IReadOnlyList<MessageView>> ReadAllAsync(HaetaeClient client, string chatId, CancellationToken cancellationToken)
    {
        var all = new List<MessageView>();
        while (true)
        {
            // After the last sequence read, not the count: a history with a hole must not be read twice.
            var page = await client.Chat.GetMessagesAsync(chatId, after: all.Count == 0 ? 0 : all[^1].Sequence, limit: 200, cancellationToken: cancellationToken);
            all.AddRange(page.Messages);
            if (page.Messages.Count == 0 || all[^1].Sequence >= page.LastSequence)
            {
                return all;
            }
        }
    }

    private sealed record Ack(string ChatId, long Sequence, string RequestId, TimeSpan SentAt, TimeSpan AckedAt, Uri Site);

    private sealed class Person(int index, string userId, HaetaeClient client, ConcurrentQueue<SeenNotice> notices)
    {
        private readonly ConcurrentDictionary<string, List<(long Sequence, string RequestId)>> _received = new();
        private Task? _reading;

        public int Index { get; } = index;

        public string UserId { get; } = userId;

        public HaetaeClient Client { get; } = client;

        public List<string> Chats { get; } = [];

        public HaetaeRealtime? Device { get; private set; }

        public void Connect(IReadOnlyDictionary<string, long>? lastSeen)
        {
            var device = new HaetaeRealtime(Client, lastSeen);
            Device = device;
            _reading = Task.Run(async () =>
            {
                await foreach (var frame in device.Frames.ReadAllAsync())
                {
                    if (frame is NoticeFrame { Notices: var told })
                    {
                        foreach (var notice in told)
                        {
                            notices.Enqueue(new SeenNotice(UserId, notice.IncidentId, notice.Kind, DateTimeOffset.UtcNow));
                        }
                    }

                    if (frame is MessageFrame { Message: var m })
                    {
                        var list = _received.GetOrAdd(m.ChatId, _ => []);
                        lock (list)
                        {
                            list.Add((m.Sequence, m.RequestId));
                        }
                    }
                }
            });
        }

        public async Task MoveAsync()
        {
            // What it saw once it is closed: frames keep arriving until then.
            await DisconnectAsync();
            Client.FailOver();
            Connect(Device!.LastSeen);
        }

        public async Task DisconnectAsync()
        {
            if (Device is not null)
            {
                await Device.DisposeAsync();
                await _reading!;
            }
        }

        public IReadOnlyList<(long Sequence, string RequestId)> Received(string chatId)
        {
            if (!_received.TryGetValue(chatId, out var list))
            {
                return [];
            }

            lock (list)
            {
                return [.. list];
            }
        }

        public long LastReceived(string chatId)
        {
            var received = Received(chatId);
            return received.Count == 0 ? Device?.LastSeen.GetValueOrDefault(chatId) ?? 0 : received[^1].Sequence;
        }
    }
}
