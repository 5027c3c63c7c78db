using System.Collections.Concurrent;
using Haetae.Client;
using Haetae.Contracts;

namespace Haetae.Drill;

/// <summary>
/// People with hidden profiles: each owner has three friends and two extra profiles, and keeps moving
/// friends between the profiles and renaming them; the friends keep looking at the owner, each from their
/// own site. Every change is recorded with when it was sent and acknowledged, and every view with when it
/// was asked and answered. A view is right if it shows what some assignment current during the request
/// made the viewer see; the default profile is always allowed (fail closed); any other profile is a wrong
/// view.
/// </summary>
internal sealed class ProfileWorkload : IDrillWorkload
{
    private const int FriendsPerOwner = 3;
    private readonly List<Owner> _owners = [];
    private readonly List<HaetaeClient> _clients = [];
    private readonly ConcurrentBag<View> _views = [];
    private const string Name = "profile";
    private readonly ServiceCalls _calls = new(Name);

    public string Service => Name;

    public async Task SetUpAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var sites = context.Sites;
        var owners = Math.Max(2, context.Options.People / 4);
        for (var i = 0; i < owners; i++)
        {
            var (client, ownerId) = await SignUpAsync(sites, i * 4, $"주인 {i}", cancellationToken);
            var owner = new Owner(i, ownerId, client, $"주인 {i}");
            for (var f = 0; f < FriendsPerOwner; f++)
            {
                var (friendClient, friendId) = await SignUpAsync(sites, (i * 4) + f + 1, $"친구 {i}-{f}", cancellationToken);
                await client.Friends.AddAsync(new AddFriendRequest(friendId, null, null), cancellationToken);
                owner.Friends.Add((friendId, friendClient));
            }

            foreach (var slot in new[] { "A", "B" })
            {
                var created = await client.Profiles.CreateAsync(new ProfileRequest($"{owner.DefaultName} {slot} v0", null, null), cancellationToken: cancellationToken);
                owner.ProfileIds[slot] = created.Id;
                owner.Names[slot] = $"{owner.DefaultName} {slot} v0";
            }

            owner.Record(TimeSpan.Zero, TimeSpan.Zero);
            _owners.Add(owner);
        }
    }

    private async Task<(HaetaeClient Client, string UserId)> SignUpAsync(IReadOnlyList<Uri> sites, int n, string name, CancellationToken cancellationToken)
    {
        var (client, userId, _) = await DrillPeople.SignUpAsync(sites, n, "profile", name, cancellationToken);
        _clients.Add(client);
        return (client, userId);
    }

    public Task RunAsync(DrillContext context, CancellationToken stop) =>
        Task.WhenAll(_owners.Select(o => Task.Run(() => ChangeAsync(o, context, stop), CancellationToken.None))
            .Concat(_owners.SelectMany(o => o.Friends.Select(f => Task.Run(() => LookAsync(o, f.Id, f.Client, context, stop), CancellationToken.None)))));

    /// <summary>The owner moves a friend to another profile or renames a profile, about once a second.</summary>
    private async Task ChangeAsync(Owner owner, DrillContext context, CancellationToken stop)
    {
        var random = new Random(owner.Index);
        while (await ServiceCalls.PauseAsync(random, TimeSpan.FromSeconds(1), stop))
        {
            var sentAt = context.Timeline.Now;
            Func<Task> change;
            Action apply;
            if (random.NextDouble() < 0.7)
            {
                var (friendId, _) = owner.Friends[random.Next(owner.Friends.Count)];
                var slot = new[] { "default", "A", "B" }[random.Next(3)];
                change = () => owner.Client.Profiles.AssignAsync(slot == "default" ? "default" : owner.ProfileIds[slot], friendId);
                apply = () => owner.Assigned[friendId] = slot;
            }
            else
            {
                var slot = random.Next(2) == 0 ? "A" : "B";
                var name = $"{owner.DefaultName} {slot} v{++owner.Version}";
                change = () => owner.Client.Profiles.UpdateAsync(owner.ProfileIds[slot], new ProfileRequest(name, null, null));
                apply = () => owner.Names[slot] = name;
            }

            // A change is idempotent: one that could not be confirmed is sent again until it is, so the
            // record knows it took effect somewhere between the first try and the confirmation.
            var outcome = Outcome.Unavailable;
            while (outcome == Outcome.Unavailable && !stop.IsCancellationRequested)
            {
                outcome = await _calls.CallAsync(context.Timeline, change);
            }

            if (outcome != Outcome.Refused)
            {
                // Unconfirmed when the load stopped: it may or may not hold, so it never supersedes the one before.
                apply();
                owner.Record(sentAt, outcome == Outcome.Done ? context.Timeline.Now : TimeSpan.MaxValue);
            }
        }
    }

    /// <summary>A friend looks at the owner's profile about twice a second.</summary>
    private async Task LookAsync(Owner owner, string viewerId, HaetaeClient client, DrillContext context, CancellationToken stop)
    {
        var random = new Random(viewerId.GetHashCode(StringComparison.Ordinal));
        while (await ServiceCalls.PauseAsync(random, TimeSpan.FromSeconds(0.5), stop))
        {
            var askedAt = context.Timeline.Now;
            await _calls.CallAsync(context.Timeline, async () =>
            {
                var seen = await client.Profiles.GetUserAsync(owner.UserId);
                _views.Add(new View(owner, viewerId, askedAt, context.Timeline.Now, seen.DisplayName));
            });
        }
    }

    public Task<IReadOnlyList<PromiseCheck>> CheckAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var views = _views.ToList();
        long wrong = 0, fellBack = 0;
        var examples = new List<string>();
        foreach (var view in views)
        {
            var allowed = view.Owner.NamesPossiblySeen(view.ViewerId, view.AskedAt, view.AnsweredAt);
            if (allowed.Contains(view.Seen))
            {
                continue;
            }

            if (view.Seen == view.Owner.DefaultName)
            {
                fellBack++;
                continue;
            }

            wrong++;
            if (examples.Count < 3)
            {
                examples.Add($"{view.ViewerId} saw '{view.Seen}' at {view.AskedAt.TotalSeconds:0.0}-{view.AnsweredAt.TotalSeconds:0.0} s, expected one of '{string.Join("', '", allowed)}'");
            }
        }

        IReadOnlyList<PromiseCheck> checks =
        [
            new(Service, "every friend saw a profile assigned to them at the time, or the default (never another)", views.Count, wrong,
                $"{wrong} wrong views, {fellBack} shown the default instead of an assigned profile{(examples.Count > 0 ? " (" + string.Join("; ", examples) + ")" : "")}"),
            new(Service, "no valid profile request refused", views.Count + _owners.Sum(o => o.Changes) + _calls.Refusals, _calls.Refusals, $"{_calls.Refusals} requests refused with a 4xx"),
        ];
        return Task.FromResult(checks);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private sealed record View(Owner Owner, string ViewerId, TimeSpan AskedAt, TimeSpan AnsweredAt, string Seen);

    /// <summary>An owner's profiles as their own client changed them: the state after each change, with when it was sent and confirmed.</summary>
    private sealed class Owner(int index, string userId, HaetaeClient client, string defaultName)
    {
        private readonly List<(TimeSpan SentAt, TimeSpan ConfirmedAt, IReadOnlyDictionary<string, string> Seen)> _states = [];

        public int Index { get; } = index;

        public string UserId { get; } = userId;

        public HaetaeClient Client { get; } = client;

        public string DefaultName { get; } = defaultName;

        public List<(string Id, HaetaeClient Client)> Friends { get; } = [];

        public Dictionary<string, string> ProfileIds { get; } = [];

        public Dictionary<string, string> Names { get; } = [];

        public Dictionary<string, string> Assigned { get; } = [];

        public int Version { get; set; }

        public int Changes => _states.Count - 1;

        /// <summary>Records what each friend sees once the change sent at <paramref name="sentAt"/> holds.</summary>
        public void Record(TimeSpan sentAt, TimeSpan confirmedAt)
        {
            var seen = Friends.ToDictionary(f => f.Id, f => Assigned.TryGetValue(f.Id, out var slot) && slot != "default" ? Names[slot] : DefaultName);
            lock (_states)
            {
                _states.Add((sentAt, confirmedAt, seen));
            }
        }

        /// <summary>
        /// What <paramref name="viewerId"/> may have been shown by a request asked at <paramref name="askedAt"/> and
        /// answered at <paramref name="answeredAt"/>: every state whose change was sent before the answer and
        /// not yet superseded by a confirmed change when the request was asked.
        /// </summary>
        public IReadOnlySet<string> NamesPossiblySeen(string viewerId, TimeSpan askedAt, TimeSpan answeredAt)
        {
            lock (_states)
            {
                var names = new HashSet<string>();
                for (var k = 0; k < _states.Count; k++)
                {
                    var supersededBefore = k + 1 < _states.Count && _states[k + 1].ConfirmedAt < askedAt;
                    if (_states[k].SentAt <= answeredAt && !supersededBefore)
                    {
                        names.Add(_states[k].Seen[viewerId]);
                    }
                }

                return names;
            }
        }
    }
}
