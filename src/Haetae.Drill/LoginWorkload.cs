using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Duende.IdentityModel.Client;
using Haetae.Cluster;

namespace Haetae.Drill;

/// <summary>
/// People logging in to the exchange, a third-party app, with Haetae: mostly through the exchange's
/// phone app (code + PKCE at one site, tokens from the same site, the next one if it fails), sometimes
/// through the exchange's website (its own OpenID Connect handler), and calling the exchange's API with
/// the token, refreshing it now and then. Each login is timed from its first try to its success; each API
/// call and refresh with a token Haetae issued and nobody revoked must be accepted.
/// </summary>
internal sealed class LoginWorkload : IDrillWorkload, IDisposable
{
    private const string Name = "login";

    /// <summary>How long one person keeps trying to log in (site after site) before the login counts as failed.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    private readonly List<Person> _people = [];
    private readonly ConcurrentBag<LoginRecord> _logins = [];
    private readonly ConcurrentBag<LoginRecord> _unfinished = [];
    private readonly ConcurrentBag<string> _rejected = [];
    private long _tokenUses;
    private long _unavailable;
    private long _refreshesLostInFlight;
    private readonly HttpClient _http = new() { Timeout = AttemptTimeout };

    /// <summary>
    /// How long one request to a site may take: longer than the provider's own election budget
    /// (EntityBucket.ElectionBudget, 10 s), so that a live site answers, with the result or a 503, before the
    /// app gives up on it. A shorter wait only abandons a request the election was about to let through and
    /// starts it again elsewhere, behind the same election (every site writes to the same leaders).
    /// </summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(20);

    public string Service => Name;

    public async Task SetUpAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var count = Math.Max(2, context.Options.People / 4);
        for (var i = 0; i < count; i++)
        {
            var (client, userId, login) = await DrillPeople.SignUpAsync(context.Sites, i, "login", $"거래자 {i}", cancellationToken);
            client.Dispose();
            var n = i % context.Sites.Count;
            var person = new Person(i, userId, login, new LoginBrowser(AttemptTimeout)) { Sites = [.. context.Sites.Skip(n), .. context.Sites.Take(n)] };
            _people.Add(person);
            // People have used the exchange before: their first login (the password, the consents) is done here, so
            // that the logins timed under load are of two kinds, each with a normal time to compare against.
            await LogInThroughAppAsync(person.Browser, person, person.Sites[0], cancellationToken);
            if (context.Exchange is not null)
            {
                await LogInThroughWebsiteAsync(person.Browser, person, context.Exchange, cancellationToken);
            }
        }
    }

    public Task RunAsync(DrillContext context, CancellationToken stop) =>
        Task.WhenAll(_people.Select(p => Task.Run(async () =>
        {
            try
            {
                await LiveAsync(p, context, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The load stopped in the middle of a call: that call is not counted either way.
            }
        }, CancellationToken.None)));

    /// <summary>A person logs in about every four seconds and uses the exchange in between.</summary>
    private async Task LiveAsync(Person person, DrillContext context, CancellationToken stop)
    {
        var random = new Random(person.Index);
        var browser = person.Browser;
        while (await ServiceCalls.PauseAsync(random, TimeSpan.FromSeconds(4), stop))
        {
            var viaWebsite = context.Exchange is not null && random.Next(5) == 0;
            var started = context.Timeline.Now;
            var signIns = browser.SignIns;
            TokenSet? tokens = null;
            string? lastError = null;
            var tries = 0;
            while (!stop.IsCancellationRequested && context.Timeline.Now - started < Patience)
            {
                var site = context.Sites[(person.Index + tries) % context.Sites.Count];
                tries++;
                try
                {
                    if (viaWebsite)
                    {
                        tokens = await LogInThroughWebsiteAsync(browser, person, context.Exchange!, stop);
                        break;
                    }
                    else
                    {
                        tokens = await LogInThroughAppAsync(browser, person, site, stop);
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or LoginFlowException or LoginRefusedException && !stop.IsCancellationRequested)
                {
                    lastError = e.Message;
                }

                context.Timeline.Error(Name);
                // The next try goes to the next site at once; a whole round of failures waits a little, as an app would.
                if (tries % context.Sites.Count == 0 && !await ServiceCalls.PauseAsync(random, TimeSpan.FromMilliseconds(500), stop))
                {
                    break;
                }
            }

            var record = new LoginRecord(person.Index, started, context.Timeline.Now, tokens is not null, viaWebsite, browser.SignIns > signIns, tries, lastError);
            if (stop.IsCancellationRequested && tokens is null)
            {
                // Cut short by the end of the load: checked only if it had already taken too long.
                _unfinished.Add(record);
                break;
            }

            _logins.Add(record);
            if (tokens is null)
            {
                continue;
            }

            context.Timeline.Success(Name);
            if (tokens.AccessToken is not null && context.Exchange is not null)
            {
                await UseAsync(context, tokens.AccessToken, "access token just issued", stop);
                if (random.Next(2) == 0 && tokens.RefreshToken is not null)
                {
                    await RefreshAndUseAsync(person, context, tokens.RefreshToken, stop);
                }
            }
        }
    }

    /// <summary>
    /// A new visit to the exchange's website: its session is gone, Haetae's is kept (no password, as for a person
    /// signed in to Haetae), so the exchange goes through the whole code flow again, ending on the account page.
    /// </summary>
    private static async Task<TokenSet> LogInThroughWebsiteAsync(LoginBrowser browser, Person person, Uri exchange, CancellationToken stop)
    {
        browser.ForgetCookies(exchange);
        var page = await browser.OpenAsync(new Uri(exchange, "login?returnUrl=%2Faccount"), person.Login, DrillPeople.Password, stop);
        if (page.Status == 200 && page.At.AbsolutePath == "/account" && page.Text.Contains("KRW", StringComparison.Ordinal))
        {
            return new TokenSet(null, null);
        }

        throw new LoginRefusedException($"exchange website answered {page.Status} at {page.At.AbsolutePath}");
    }

    private async Task<TokenSet> LogInThroughAppAsync(LoginBrowser browser, Person person, Uri site, CancellationToken stop)
    {
        var pkce = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(
            LoginBrowser.AuthorizeUri(site, ExchangeApp.AppClientId, ExchangeApp.AppRedirectUri, $"openid offline_access {ExchangeApp.ApiScope}", pkce, "drill"),
            ExchangeApp.AppRedirectUri, person.Login, DrillPeople.Password, stop);
        if (outcome.Code is null)
        {
            throw new LoginRefusedException($"authorization at {site} answered {outcome.Error}: {outcome.ErrorDescription}");
        }

        // The code is good at every site: redeem it here, else at the next site.
        LoginRefusedException? refused = null;
        foreach (var tokenSite in SitesFrom(site))
        {
            TokenResponse response;
            try
            {
                response = await _http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
                {
                    Address = new Uri(tokenSite, "/connect/token").AbsoluteUri,
                    ClientId = ExchangeApp.AppClientId,
                    Code = outcome.Code,
                    RedirectUri = ExchangeApp.AppRedirectUri.AbsoluteUri,
                    CodeVerifier = pkce.Verifier,
                }, stop);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
            {
                // No answer (a time-out surfaces as a cancellation): the same code, at the next site.
                refused = new LoginRefusedException($"token endpoint at {tokenSite}: no answer ({e.Message})");
                continue;
            }

            if (!response.IsError)
            {
                return new TokenSet(response.AccessToken, response.RefreshToken);
            }

            refused = new LoginRefusedException($"token endpoint at {tokenSite}: {response.Error} {response.ErrorDescription}");
            if (response.ErrorType != ResponseErrorType.Exception && response.HttpStatusCode != HttpStatusCode.ServiceUnavailable)
            {
                break;
            }
        }

        throw refused!;

        IEnumerable<Uri> SitesFrom(Uri first) => [first, .. person.Sites.Where(s => s != first)];
    }

    private async Task RefreshAndUseAsync(Person person, DrillContext context, string refreshToken, CancellationToken stop)
    {
        var unanswered = false;
        foreach (var site in person.Sites)
        {
            TokenResponse refreshed;
            try
            {
                refreshed = await _http.RequestRefreshTokenAsync(new RefreshTokenRequest
                {
                    Address = new Uri(site, "/connect/token").AbsoluteUri,
                    ClientId = ExchangeApp.AppClientId,
                    RefreshToken = refreshToken,
                }, stop);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
            {
                // No answer (a time-out surfaces as a cancellation): the same refresh token, at the next site.
                Interlocked.Increment(ref _unavailable);
                unanswered = true;
                continue;
            }

            if (!refreshed.IsError)
            {
                await UseAsync(context, refreshed.AccessToken!, "access token from a refresh", stop);
                return;
            }

            if (refreshed.Error is "invalid_grant")
            {
                if (unanswered)
                {
                    // The unanswered or failed attempt may have redeemed it (its answer was lost, say to a site
                    // cut off mid-request); a refresh token is good once, so this refusal is the provider keeping
                    // that promise. The app signs the person in again, as any OAuth client must.
                    Interlocked.Increment(ref _refreshesLostInFlight);
                    return;
                }

                // Never reused, never revoked: a valid refresh token refused.
                _rejected.Add($"refresh token of person {person.Index} refused at {site}: {refreshed.ErrorDescription}");
                return;
            }

            // A site that failed (5xx) may have stored the redemption before it did.
            unanswered |= refreshed.ErrorType == ResponseErrorType.Exception || (int)refreshed.HttpStatusCode >= 500;
        }
    }

    private async Task UseAsync(DrillContext context, string accessToken, string what, CancellationToken stop)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(context.Exchange!, "api/account"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        try
        {
            using var response = await _http.SendAsync(request, stop);
            Interlocked.Increment(ref _tokenUses);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                _rejected.Add($"{what} refused by the exchange with {(int)response.StatusCode} at {context.Timeline.Now.TotalSeconds:0.0} s");
            }
            else if (!response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref _unavailable);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _unavailable);
        }
    }

    public Task<IReadOnlyList<PromiseCheck>> CheckAsync(DrillContext context, CancellationToken cancellationToken)
    {
        var logins = _logins.ToList();
        // A fire is one disruption (the other sites elect new leaders); a partition is two: the cut, and the heal (the
        // returning replicas' higher terms unseat leaders again: nats-server has no pre-vote). A login is several
        // requests in a row, and the one under way when leaders are lost waits out the election; the others take
        // their normal time. So a login may take the normal time of its kind (the median of the logins of that kind
        // that overlapped no disruption, else of all those) plus one election bound for each disruption it
        // overlapped, and at least one; a blackout adds the time it overlapped (nothing can log in then).
        var disruptions = context.SitesLost.Concat(context.Cuts.SelectMany(c => new[] { c.From, c.To })).ToList();
        int Overlapped(LoginRecord login) => disruptions.Count(d => login.Started < d + DrillRunner.ElectionBound && login.Ended > d);
        TimeSpan Dark(LoginRecord login) => context.Outages.Aggregate(TimeSpan.Zero, (sum, o) =>
            sum + TimeSpan.FromTicks(Math.Max(0, Math.Min(o.To.Ticks, login.Ended.Ticks) - Math.Max(o.From.Ticks, login.Started.Ticks))));
        var undisturbed = logins.Where(l => l.Succeeded && Overlapped(l) == 0 && Dark(l) == TimeSpan.Zero).ToList();
        var normal = undisturbed.GroupBy(l => l.Kind).ToDictionary(g => g.Key, g => Median([.. g.Select(l => l.Took)]));
        var normalOfAll = undisturbed.Count == 0 ? TimeSpan.Zero : Median([.. undisturbed.Select(l => l.Took)]);
        TimeSpan Normal(LoginRecord login) => normal.GetValueOrDefault(login.Kind, normalOfAll);
        TimeSpan Allowed(LoginRecord login) => Normal(login) + Dark(login) + (DrillRunner.ElectionBound * Math.Max(1, Overlapped(login)));
        var overdue = _unfinished.Where(l => l.Took > Allowed(l)).ToList();
        var tooLong = logins.Where(l => !l.Succeeded || l.Took > Allowed(l)).Concat(overdue).OrderByDescending(l => l.Took).ToList();
        var overlappedTwo = logins.Count(l => Overlapped(l) > 1);
        var longest = logins.Count == 0 ? 0 : logins.Max(l => l.Took.TotalSeconds);
        var retried = logins.Count(l => l.Tries > 1);
        var website = logins.Count(l => l.ViaWebsite);
        IReadOnlyList<PromiseCheck> checks =
        [
            new(Service, $"no login took longer than its normal time and the elections it overlapped ({DrillRunner.ElectionBound.TotalSeconds:0} s each)", logins.Count + overdue.Count, tooLong.Count,
                $"{logins.Count} logins ({website} through the exchange's website), {retried} needed another try or site, {overlappedTwo} under way through two disruptions, " +
                $"{overdue.Count} still trying when the load stopped after longer than allowed, " +
                $"normal {string.Join(", ", normal.OrderBy(n => n.Key, StringComparer.Ordinal).Select(n => $"{n.Value.TotalSeconds:0.00} s {n.Key}"))}, longest {longest:0.0} s" +
                (tooLong.Count > 0 ? $"; e.g. person {tooLong[0].Person} at {tooLong[0].Started.TotalSeconds:0.0} s took {tooLong[0].Took.TotalSeconds:0.0} s " +
                    $"(allowed {Allowed(tooLong[0]).TotalSeconds:0.0} s): {tooLong[0].LastError ?? "no error, only slow"}" : "")),
            new(Service, "no valid token rejected (access tokens at the exchange, refresh tokens at Haetae)", Interlocked.Read(ref _tokenUses), _rejected.Count,
                $"{Interlocked.Read(ref _tokenUses)} API calls with Haetae tokens, {_rejected.Count} rejected, {Interlocked.Read(ref _unavailable)} not answered, " +
                $"{Interlocked.Read(ref _refreshesLostInFlight)} refresh tokens refused after an unanswered attempt that may have redeemed them" +
                (_rejected.IsEmpty ? "" : $"; e.g. {_rejected.First()}")),
        ];
        return Task.FromResult(checks);
    }

    private static TimeSpan Median(IReadOnlyList<TimeSpan> times) => times.Order().ElementAt(times.Count / 2);

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        _http.Dispose();
        foreach (var person in _people)
        {
            person.Browser.Dispose();
        }
    }

    private sealed record Person(int Index, string UserId, string Login, LoginBrowser Browser)
    {
        public IReadOnlyList<Uri> Sites { get; set; } = [];
    }

    private sealed record TokenSet(string? AccessToken, string? RefreshToken);

    private sealed record LoginRecord(int Person, TimeSpan Started, TimeSpan Ended, bool Succeeded, bool ViaWebsite, bool WithPassword, int Tries, string? LastError)
    {
        public TimeSpan Took => Ended - Started;

        /// <summary>Logins of one kind take about the same time: a person's first one fills in the password (and consents).</summary>
        public string Kind => (ViaWebsite ? "through the website" : "through the app") + (WithPassword ? " with the password" : "");
    }
}

/// <summary>Haetae answered a login step with an OAuth error.</summary>
internal sealed class LoginRefusedException(string message) : Exception(message);
