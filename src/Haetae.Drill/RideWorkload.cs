using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Haetae.Client;
using Haetae.Contracts;

namespace Haetae.Drill;

/// <summary>
/// Riders rent the fleet's scooters: unlock one in the app, ride a few seconds, and end the ride, most
/// through the app, and two in five as if no site could be reached from their phone: the phone asks the
/// scooter over the short-range channel, which locks at once and hands it a signed receipt, and the
/// phone uploads it (so does the scooter, over its own network). Afterwards every ride must have ended,
/// none billed a minute after its signed lock or charged twice, every hold resolved, and the ledger's
/// audit must pass.
/// </summary>
internal sealed class RideWorkload : IDrillWorkload
{
    private const string Name = "rides";
    private const long StartingTopUp = 200_000;
    private static readonly TimeSpan Settling = TimeSpan.FromSeconds(90);

    /// <summary>An address no site listens on: a phone that reaches no site.</summary>
    private static readonly Uri Nowhere = new("http://127.0.0.9:9/");

    private readonly AnsweredWrites _writes = new(Name);
    private readonly List<Rider> _riders = [];
    private readonly HttpClient _shortRange = new() { Timeout = TimeSpan.FromSeconds(5) };
    private long _busy, _unreachable, _throughPhone;

    public string Service => Name;

    public WritePauses Pauses { get; private set; } = new(new Dictionary<string, double>(), new Dictionary<string, double>());

    public async Task SetUpAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var count = Math.Max(2, context.Options.People / 8);
        for (var i = 0; i < count; i++)
        {
            var (client, userId, _) = await DrillPeople.SignUpAsync(context.Sites, i, "rider", $"라이더 {i}", cancellationToken);
            var first = await client.Pay.TopUpAsync(StartingTopUp, cancellationToken: cancellationToken);
            if (first.State != MoveState.Done)
            {
                throw new InvalidOperationException($"the first top-up of {userId} was not done: {first.State} {first.Reason}");
            }

            _riders.Add(new Rider(i, userId, client));
        }

        // The fleet registers its scooters once the platform is up: wait for them, as a rider opening the map would.
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromSeconds(60));
        while ((await _riders[0].Client.Rides.ScootersAsync(wait.Token)).Count(s => s.Available) < _riders.Count)
        {
            await Task.Delay(250, wait.Token);
        }
    }

    public Task RunAsync(DrillContext context, CancellationToken stop) =>
        Task.WhenAll(_riders.Select(r => Task.Run(() => RideAsync(r, context, stop), CancellationToken.None)));

    private async Task RideAsync(Rider rider, DrillContext context, CancellationToken stop)
    {
        var random = new Random(2_000 + rider.Index);
        while (await ServiceCalls.PauseAsync(random, TimeSpan.FromSeconds(1), stop))
        {
            IReadOnlyList<ScooterView> scooters = [];
            await _writes.UntilAnsweredAsync(context, stop, async () => scooters = await rider.Client.Rides.ScootersAsync(), () => { });
            var free = scooters.Where(s => s.Available).ToList();
            if (free.Count == 0)
            {
                continue;
            }

            var scooter = free[random.Next(free.Count)];
            var requestId = HaetaeClient.NewRequestId();
            RideView? ride = null;
            await _writes.UntilAnsweredAsync(context, stop, () => RightAnswers(async () => ride = await rider.Client.Rides.StartAsync(scooter.Id, requestId)), () => { });
            if (ride is null)
            {
                continue;
            }

            var trip = new Trip(ride.Id, ride.Unlocked, ride.ShortRange);
            rider.Trips.Enqueue(trip);
            // The ride itself: a few seconds (the load's end cuts it short; it is ended all the same).
            await ServiceCalls.PauseAsync(random, TimeSpan.FromSeconds(3), stop);
            await EndAsync(rider, trip, random.NextDouble() < 0.4, context, CancellationToken.None);
        }
    }

    /// <summary>
    /// Ends the ride: through the app, or (<paramref name="platformUnreachable"/>, or when the app says the
    /// scooter does not answer) through the phone next to the scooter, then uploads the signed receipt.
    /// </summary>
    private async Task EndAsync(Rider rider, Trip trip, bool platformUnreachable, DrillContext context, CancellationToken cancellationToken)
    {
        if (!platformUnreachable)
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(45));
            RideView? ended = null;
            await _writes.UntilAnsweredAsync(context, patience.Token, () => RightAnswers(async () => ended = await rider.Client.Rides.EndAsync(trip.RideId)), () => { });
            if (ended?.Locked is { } at)
            {
                trip.LockedAt = at;
                return;
            }
        }

        else
        {
            // No site answers this phone (its addresses lead nowhere): the app gives up on the platform quickly.
            using var nowhere = new HaetaeClient([Nowhere], TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(1)) { AccessToken = rider.Client.AccessToken };
            try
            {
                await nowhere.Rides.EndAsync(trip.RideId, cancellationToken);
                throw new InvalidOperationException("a phone cut off from every site reached one");
            }
            catch (HaetaeUnavailableException)
            {
                // As expected: the phone turns to the scooter next to it.
            }
        }

        // The phone next to the scooter: the short-range channel works whatever the platform and the network do.
        Interlocked.Increment(ref _throughPhone);
        try
        {
            using var response = await _shortRange.PostAsJsonAsync(trip.ShortRange, new { rideId = trip.RideId, riderId = rider.UserId }, cancellationToken);
            var receipt = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<SignedScooterEvent>(HaetaeJson.Options, cancellationToken);
            trip.Receipt = receipt;
            trip.LockedAt = JsonSerializer.Deserialize<ScooterEvent>(Convert.FromBase64String(receipt!.Payload!), HaetaeJson.Options)!.At;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // Not ended: the check counts it (no signed lock in the rider's record).
            return;
        }

        // Uploaded when the platform can be reached (at once here; the checks upload what is left).
        using var upload = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _writes.UntilAnsweredAsync(context, upload.Token, async () => await rider.Client.Rides.UploadAsync(trip.Receipt!), () => trip.Uploaded = true);
        }
        catch (OperationCanceledException)
        {
            // Left for the checks.
        }
    }

    /// <summary>A scooter someone else took first, or whose battery ran out, is a right answer: the rider picks another next time.</summary>
    private async Task RightAnswers(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (HaetaeApiException e) when (e.Status == HttpStatusCode.Conflict && e.Title is "Scooter in use" or "Battery empty" or "Riding already")
        {
            Interlocked.Increment(ref _busy);
        }
        catch (HaetaeApiException e) when (e.Status == HttpStatusCode.Conflict && e.Title == "Scooter unreachable")
        {
            Interlocked.Increment(ref _unreachable);
        }
    }

    public async Task<IReadOnlyList<PromiseCheck>> CheckAsync(DrillContext context, CancellationToken cancellationToken)
    {
        using var settling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        settling.CancelAfter(Settling);
        var trips = _riders.SelectMany(r => r.Trips.Select(t => (Rider: r, Trip: t))).ToList();
        foreach (var (rider, trip) in trips.Where(t => t.Trip.LockedAt is null))
        {
            // A ride the load's end left going: ended now, from the phone.
            await EndAsync(rider, trip, platformUnreachable: true, context, settling.Token);
        }

        foreach (var (rider, trip) in trips.Where(t => t.Trip.Receipt is not null && !t.Trip.Uploaded))
        {
            await _writes.UntilAnsweredAsync(context, settling.Token, async () => await rider.Client.Rides.UploadAsync(trip.Receipt!), () => trip.Uploaded = true);
        }

        long notSettled = 0, billedAfterLock = 0, wrongWallets = 0, held = 0;
        var examples = new List<string>();
        var fares = 0L;
        foreach (var (rider, trip) in trips.Where(t => t.Trip.LockedAt is not null))
        {
            RideView view;
            try
            {
                view = await CheckHelpers.EventuallyAsync(settling.Token, ct => rider.Client.Rides.RideAsync(trip.RideId, ct), v => v.Fare is not null);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                notSettled++;
                CheckHelpers.Example(examples, $"ride {trip.RideId} not settled after {Settling.TotalSeconds:0} s");
                continue;
            }

            trip.Fare = view.Fare!.Total;
            var signedMinutes = (int)Math.Ceiling(((view.Locked ?? trip.LockedAt!.Value) - trip.Unlocked).TotalMinutes - 1e-9);
            if (view.Locked != trip.LockedAt || view.Fare.Minutes > signedMinutes || view.Fare.Total != Math.Min(view.Fare.Cap, view.Fare.StartFee + (view.Fare.Minutes * view.Fare.PerMinute)))
            {
                billedAfterLock++;
                CheckHelpers.Example(examples, $"ride {trip.RideId} locked at {view.Locked:O} (the rider's record: {trip.LockedAt:O}), billed {view.Fare.Minutes} minutes for {signedMinutes} signed");
            }
        }

        foreach (var rider in _riders)
        {
            var charged = rider.Trips.Sum(t => t.Fare);
            fares += charged;
            var wallet = await rider.Client.Pay.WalletAsync(cancellationToken);
            if (wallet.Balance != StartingTopUp - charged)
            {
                wrongWallets++;
                CheckHelpers.Example(examples, $"{rider.UserId} holds ₩{wallet.Balance:N0}, its rides' fares say ₩{StartingTopUp - charged:N0}");
            }

            held += wallet.Held != 0 || wallet.Incoming != 0 ? 1 : 0;
        }

        var audit = await PayWorkload.AuditAsync(context, cancellationToken);
        var (pauses, healPauses) = AckPauses.Of(_writes.Acks.Select(a => ("KV_rides", a)), context);
        Pauses = new WritePauses(pauses.ToDictionary(p => p.Key, p => p.Value.TotalSeconds), healPauses.ToDictionary(p => p.Key, p => p.Value.TotalSeconds));
        var ended = trips.Count(t => t.Trip.LockedAt is not null);
        List<PromiseCheck> checks =
        [
            new(Service, "0 rides that could not be ended", trips.Count, trips.Count - ended,
                $"{trips.Count} rides, {Interlocked.Read(ref _throughPhone)} ended from the phone over the short-range channel; {Interlocked.Read(ref _unreachable)} times the app could not reach the scooter; {Interlocked.Read(ref _busy)} unlocks of a scooter taken first or flat"),
            new(Service, "every ride settled with its fare, none billed a minute after its signed lock", ended, notSettled + billedAfterLock,
                $"{notSettled} not settled, {billedAfterLock} billed otherwise than their signed times say; ₩{fares:N0} in fares" + (examples.Count == 0 ? "" : "; e.g. " + string.Join("; ", examples))),
            new(Service, "0 rides charged twice: every wallet paid exactly its rides' fares", _riders.Count, wrongWallets, $"{wrongWallets} of {_riders.Count} wallets differ"),
            new(Service, "every hold resolved", _riders.Count, held, $"{held} wallets with money still held"),
            new(Service, "money conserved through pay's audit", audit.Transfers, audit.Violations.Count,
                $"{audit.Transfers} transfers, sum of balances ₩{audit.SumOfBalances:N0}" + (audit.Violations.Count == 0 ? "" : "; " + string.Join("; ", audit.Violations.Take(3)))),
            _writes.NoneRefused(Service, "ride", "unlocks"),
        ];
        checks.AddRange(AckPauses.Checks(Service, Pauses, context));
        return checks;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var rider in _riders)
        {
            rider.Client.Dispose();
        }

        _shortRange.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed class Rider(int index, string userId, HaetaeClient client)
    {
        public int Index { get; } = index;

        public string UserId { get; } = userId;

        public HaetaeClient Client { get; } = client;

        public ConcurrentQueue<Trip> Trips { get; } = new();
    }

    /// <summary>A ride as its rider recorded it: when the scooter signed its unlock and its lock, and the receipt the phone holds.</summary>
    private sealed class Trip(string rideId, DateTimeOffset unlocked, Uri? shortRange)
    {
        public string RideId { get; } = rideId;

        public DateTimeOffset Unlocked { get; } = unlocked;

        public Uri? ShortRange { get; } = shortRange;

        public DateTimeOffset? LockedAt { get; set; }

        public SignedScooterEvent? Receipt { get; set; }

        public bool Uploaded { get; set; }

        public long Fare { get; set; }
    }
}
