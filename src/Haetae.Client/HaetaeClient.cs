using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Haetae.Contracts;

namespace Haetae.Client;

/// <summary>A refusal from the API (a 4xx with ProblemDetails): retrying will not help.</summary>
public sealed class HaetaeApiException(HttpStatusCode status, string? title, string? detail)
    : Exception($"{(int)status} {title}: {detail}")
{
    public HttpStatusCode Status { get; } = status;

    public string? Title { get; } = title;

    public string? Detail { get; } = detail;
}

/// <summary>Every site failed for longer than the client's patience.</summary>
public sealed class HaetaeUnavailableException(string message, Exception? inner) : Exception(message, inner);

/// <summary>
/// The .NET client of Haetae. It knows every site, sticks to one while it answers, and moves to the next
/// on a connection error, a 5xx or a time-out. A write carries a request id that stays the same across
/// every retry and site, so the platform applies it once.
/// </summary>
public sealed class HaetaeClient : IDisposable
{

    private readonly IReadOnlyList<Uri> _sites;
    private readonly HttpClient _http;
    private int _current;

    /// <param name="sites">Every site's base URL; the first is tried first.</param>
    public HaetaeClient(IReadOnlyList<Uri> sites, TimeSpan? attemptTimeout = null, TimeSpan? patience = null)
    {
        if (sites.Count == 0)
        {
            throw new ArgumentException("at least one site", nameof(sites));
        }

        _sites = sites;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            Timeout = attemptTimeout ?? TimeSpan.FromSeconds(5),
        };
        Patience = patience ?? TimeSpan.FromSeconds(60);
        Friends = new FriendsClient(this);
        Profiles = new ProfilesClient(this);
        Chat = new ChatClient(this);
        Photos = new PhotosClient(this);
        Pay = new PayClient(this);
        Gifts = new GiftsClient(this);
        Rides = new RidesClient(this);
    }

    /// <summary>How long one call keeps trying, over every site, before giving up.</summary>
    public TimeSpan Patience { get; }

    /// <summary>The site the next request goes to.</summary>
    public Uri CurrentSite => _sites[Volatile.Read(ref _current) % _sites.Count];

    public IReadOnlyList<Uri> Sites => _sites;

    public string? AccessToken { get; set; }

    /// <summary>How many times a call moved to another site (for tests and the drill).</summary>
    public int Failovers => _failovers;

    private int _failovers;

    public static string NewRequestId() => Guid.NewGuid().ToString("N");

    /// <summary>Moves to the next site (the realtime connection does this when its socket drops).</summary>
    public void FailOver()
    {
        Interlocked.Increment(ref _current);
        Interlocked.Increment(ref _failovers);
    }

    public Task<UserView> SignUpAsync(SignUpRequest request, string? requestId = null, CancellationToken cancellationToken = default) =>
        SendAsync<UserView>(HttpMethod.Post, "api/accounts", request, requestId ?? NewRequestId(), cancellationToken);

    public async Task<TokenResponse> SignInAsync(string login, string password, CancellationToken cancellationToken = default)
    {
        var token = await SendAsync<TokenResponse>(HttpMethod.Post, "api/sessions", new SignInRequest(login, password), null, cancellationToken);
        AccessToken = token.AccessToken;
        return token;
    }

    public Task SignOutAsync(CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, "api/sessions/current", null, null, cancellationToken);

    public Task<UserView> MeAsync(CancellationToken cancellationToken = default) =>
        SendAsync<UserView>(HttpMethod.Get, "api/me", null, null, cancellationToken);

    /// <summary>Friends and blocks.</summary>
    public FriendsClient Friends { get; }

    /// <summary>Profiles: mine, and how others appear to me.</summary>
    public ProfilesClient Profiles { get; }

    /// <summary>Chats and their messages.</summary>
    public ChatClient Chat { get; }

    /// <summary>Pay: the wallet, the bank, money for friends.</summary>
    public PayClient Pay { get; }

    /// <summary>Gift vouchers: the catalog, gifts for friends, redemption at a shop.</summary>
    public GiftsClient Gifts { get; }

    /// <summary>Scooter rides.</summary>
    public RidesClient Rides { get; }

    /// <summary>Photos for chats and profiles.</summary>
    public PhotosClient Photos { get; }

    internal sealed record RawBody(byte[] Bytes, string ContentType);


    /// <summary>The failover transport every sub-client goes through.</summary>
    internal async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, string? requestId, CancellationToken cancellationToken)
    {
        using var response = await SendWithFailoverAsync(method, path, body, requestId, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NoContent || typeof(T) == typeof(object))
        {
            return default!;
        }

        return (await response.Content.ReadFromJsonAsync<T>(HaetaeJson.Options, cancellationToken))!;
    }

    /// <summary>
    /// Sends to the current site; on a connection error, a 5xx or a time-out, moves to the next site and
    /// sends again, with the same request id, until a site answers or <see cref="Patience"/> runs out.
    /// </summary>
    internal async Task<HttpResponseMessage> SendWithFailoverAsync(HttpMethod method, string path, object? body, string? requestId, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        Exception? last = null;
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var site = CurrentSite;
            using var request = new HttpRequestMessage(method, new Uri(site, path));
            if (AccessToken is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
            }

            if (requestId is not null)
            {
                request.Headers.Add(ChatHeaders.RequestId, requestId);
            }

            request.Content = body switch
            {
                null => null,
                RawBody raw => new ByteArrayContent(raw.Bytes) { Headers = { ContentType = new MediaTypeHeaderValue(raw.ContentType) } },
                _ => JsonContent.Create(body, body.GetType(), options: HaetaeJson.Options),
            };

            try
            {
                var response = await _http.SendAsync(request, cancellationToken);
                if ((int)response.StatusCode < 500)
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        var problem = await ReadProblemAsync(response, cancellationToken);
                        response.Dispose();
                        throw new HaetaeApiException(response.StatusCode, problem.Title, problem.Detail);
                    }

                    return response;
                }

                last = new HttpRequestException($"{site} answered {(int)response.StatusCode}");
                response.Dispose();
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                last = e;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new HaetaeUnavailableException($"no site answered within {Patience.TotalSeconds:0} s ({attempt + 1} attempts)", last);
            }

            // Next site; after a full round, back off a little before starting over.
            var next = Interlocked.Increment(ref _current);
            Interlocked.Increment(ref _failovers);
            if (next % _sites.Count == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 100 * (attempt + 1))), cancellationToken);
            }
        }
    }

    private static async Task<(string? Title, string? Detail)> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            return (problem.TryGetProperty("title", out var t) ? t.GetString() : null, problem.TryGetProperty("detail", out var d) ? d.GetString() : null);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            return (response.ReasonPhrase, null);
        }
    }

    public void Dispose() => _http.Dispose();
}
