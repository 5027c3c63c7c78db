using Fleet;

// The app's own folder, not the caller's working directory, holds its appsettings.json.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var options = builder.Configuration.GetSection(FleetOptions.SectionName).Get<FleetOptions>() ?? new FleetOptions();
options.Validate();

builder.Services.AddSingleton(options);
builder.Services.AddSingleton(new Scooters(options.Database, options.Scooters));
builder.Services.AddSingleton<Faults>();
builder.Services.AddHttpClient("platform", http => http.Timeout = TimeSpan.FromSeconds(3));
builder.Services.AddHostedService<Network>();
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
builder.Services.AddProblemDetails();
// The short-range channel is the rider's phone next to the scooter: a page of the platform's web app calls it.
builder.Services.AddCors(cors => cors.AddPolicy("phones", policy => policy.AllowAnyOrigin().AllowAnyHeader().WithMethods("GET", "POST")));
var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseCors();

app.MapGet("/healthz", () => TypedResults.Ok("ok"));

// The scooters' network: the platform's signed calls, refused while the network is cut.
var network = app.MapGroup("/scooters").AddEndpointFilter(async (context, next) =>
{
    var http = context.HttpContext;
    if (http.Request.Headers.Authorization != $"Bearer {options.Secret}")
    {
        return Results.Problem(statusCode: 401, title: "Unauthorized", detail: "scooters take the platform's signed calls only");
    }

    return http.RequestServices.GetRequiredService<Faults>().NetworkDown
        ? Results.Problem(statusCode: 503, title: "No network", detail: "the scooters' network is cut (POST /faults)")
        : await next(context);
});
network.MapPost("/{id}/unlock", (string id, UnlockRequest request, Scooters scooters) =>
    request.RideId is not { Length: > 0 and <= 64 } || request.RiderId is not { Length: > 0 and <= 64 }
        ? Results.Problem(statusCode: 400, title: "Bad unlock", detail: "rideId and riderId are 1 to 64 characters")
        : Answer(scooters.Unlock(id, request.RideId, request.RiderId)));
network.MapPost("/{id}/lock", (string id, LockRequest request, Scooters scooters) =>
    request.RideId is not { Length: > 0 and <= 64 }
        ? Results.Problem(statusCode: 400, title: "Bad lock", detail: "rideId is 1 to 64 characters")
        : Answer(scooters.Lock(id, request.RideId, null)));

// The short-range channel: the rider's phone next to the scooter, whatever the network does. The
// scooter locks at once and hands the phone its signed receipt; both upload it when they can.
var nearby = app.MapGroup("/nearby/scooters").RequireCors("phones");
nearby.MapGet("/{id}", (string id, Scooters scooters) =>
    scooters.Status(id) is { } status ? Results.Ok(status) : Results.Problem(statusCode: 404, title: "No such scooter", detail: $"no scooter {id} nearby"));
nearby.MapPost("/{id}/lock", (string id, LockRequest request, Scooters scooters) =>
    request.RideId is not { Length: > 0 and <= 64 } || request.RiderId is not { Length: > 0 and <= 64 }
        ? Results.Problem(statusCode: 400, title: "Bad lock", detail: "rideId and riderId are 1 to 64 characters")
        : Answer(scooters.Lock(id, request.RideId, request.RiderId)));

app.MapPost("/faults", (HttpContext http, FaultsRequest request, Faults faults) =>
{
    if (http.Request.Headers.Authorization != $"Bearer {options.Secret}")
    {
        return Results.Problem(statusCode: 401, title: "Unauthorized", detail: "the operator's switch takes the platform's secret");
    }

    faults.Set(request.NetworkDown);
    return Results.Ok(request);
});

app.Run();

static IResult Answer((SignedEvent? Event, string? Refusal) outcome) =>
    outcome.Event is { } signed ? Results.Ok(signed)
    : outcome.Refusal == "no such scooter" ? Results.Problem(statusCode: 404, title: "No such scooter", detail: outcome.Refusal)
    : Results.Problem(statusCode: 409, title: "Refused", detail: outcome.Refusal);

/// <summary>
/// The scooters' network to the platform: registers every scooter's public key (until a site takes
/// it), then uploads the signed events in the outbox, oldest first, to whichever site answers.
/// </summary>
internal sealed partial class Network(FleetOptions options, Scooters scooters, Faults faults, IHttpClientFactory clients, ILogger<Network> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var http = clients.CreateClient("platform");
        var registered = false;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (await tick.WaitForNextTickAsync(stoppingToken))
        {
            if (faults.NetworkDown)
            {
                continue;
            }

            if (!registered)
            {
                registered = await AnySiteAsync(http, site => Post(http, site, "admin/rides/scooters", scooters.Registrations(), options.AdminKey, stoppingToken), stoppingToken);
                continue;
            }

            foreach (var (id, signed) in scooters.Outbox())
            {
                // Taken (200) or refused for good (4xx, the platform records why): either way it is delivered.
                if (!await AnySiteAsync(http, site => Post(http, site, "api/rides/events", signed, null, stoppingToken), stoppingToken))
                {
                    break;
                }

                scooters.Sent(id);
            }
        }
    }

    private async Task<bool> AnySiteAsync(HttpClient http, Func<string, Task<HttpResponseMessage>> call, CancellationToken stoppingToken)
    {
        foreach (var site in options.Sites)
        {
            try
            {
                using var response = await call(site);
                if ((int)response.StatusCode < 500)
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        LogRefused(site, (int)response.StatusCode, await response.Content.ReadAsStringAsync(stoppingToken));
                    }

                    return true;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                // The next site.
            }
        }

        return false;
    }

    private static Task<HttpResponseMessage> Post<T>(HttpClient http, string site, string path, T body, string? adminKey, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(site), path)) { Content = JsonContent.Create(body, options: Scooters.Json) };
        if (adminKey is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
        }

        return http.SendAsync(request, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Site} refused a call ({Status}): {Body}")]
    private partial void LogRefused(string site, int status, string body);
}
