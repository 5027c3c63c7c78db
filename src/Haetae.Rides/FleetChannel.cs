using System.Net.Http.Headers;
using System.Net.Http.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;

namespace Haetae.Rides;

/// <summary>Where the fleet's scooters answer (Haetae:Rides:Fleet): their network, and the short-range channel phones reach them through.</summary>
public sealed class FleetOptions
{
    public Uri? Uri { get; set; }

    public string Secret { get; set; } = "";
}

/// <summary>
/// The platform's network calls to a scooter (through its fleet): unlock for a ride, lock. A scooter that
/// does not answer is a 409 "Scooter unreachable" (a 4xx: every site reaches the same scooter, so another
/// site would not do better; the caller undoes what it prepared); one that refuses, a 409 "Scooter refused".
/// </summary>
public sealed class FleetChannel(HttpClient http, FleetOptions options)
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The address a phone next to the scooter locks it at (the short-range channel).</summary>
    public Uri? ShortRange(string scooterId) => options.Uri is { } fleet ? new Uri(fleet, $"nearby/scooters/{Uri.EscapeDataString(scooterId)}/lock") : null;

    public Task<SignedScooterEvent> UnlockAsync(string scooterId, string rideId, string riderId, CancellationToken cancellationToken) =>
        CallAsync($"scooters/{Uri.EscapeDataString(scooterId)}/unlock", new { rideId, riderId }, cancellationToken);

    public Task<SignedScooterEvent> LockAsync(string scooterId, string rideId, CancellationToken cancellationToken) =>
        CallAsync($"scooters/{Uri.EscapeDataString(scooterId)}/lock", new { rideId }, cancellationToken);

    private async Task<SignedScooterEvent> CallAsync(string path, object body, CancellationToken cancellationToken)
    {
        if (options.Uri is not { } fleet)
        {
            throw Unreachable("no scooter fleet is configured (Haetae:Rides:Fleet:Uri)");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fleet, path)) { Content = JsonContent.Create(body, options: HaetaeJson.Options) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Secret);
            using var response = await http.SendAsync(request, timeout.Token);
            if (response.IsSuccessStatusCode)
            {
                return await response.Content.ReadFromJsonAsync<SignedScooterEvent>(HaetaeJson.Options, timeout.Token)
                    ?? throw Unreachable("the scooter answered nothing");
            }

            var problem = await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ProblemDetails>(HaetaeJson.Options, timeout.Token);
            throw (int)response.StatusCode is 409 or 404
                ? new ApiProblem(409, RefusedTitle, $"the scooter refused: {problem?.Detail ?? problem?.Title}")
                : Unreachable($"the scooter does not answer over its network ({problem?.Detail ?? response.StatusCode.ToString()})");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            throw Unreachable("the scooter does not answer over its network");
        }
    }

    public const string UnreachableTitle = "Scooter unreachable";

    public const string RefusedTitle = "Scooter refused";

    private static ApiProblem Unreachable(string detail) => new(409, UnreachableTitle, detail);
}
