using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Http;

namespace Haetae.Platform.Hosting;

/// <summary>The first response to one person's request id, kept: its request's fingerprint, and the status and body (or problem) it got.</summary>
public sealed record KeptResponse(string Fingerprint, int Status, JsonElement? Body, string? Title, string? Detail, DateTimeOffset At);

/// <summary>
/// Stripe's rule for retries over HTTP, for writes that move money: the first response to a request
/// id is kept and returned again for every retry, at any site (with header Idempotent-Replayed: true);
/// the same id with a different request is a 422; responses are kept <see cref="Keep"/>. Refusals (4xx)
/// are kept too, so a retry never turns a refusal into a success later; outages (5xx) and work still
/// under way (202) are not, so a retry after one does the work, or asks again. The work itself must be idempotent by request id on its own
/// (ids derived from it), since an outage can come between the work and keeping its response.
/// </summary>
public sealed class KeptResponses(Buckets buckets, string bucket, TimeProvider time)
{
    /// <summary>Stripe keeps keys at least 24 hours; these are kept 30 days.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromDays(30);

    public const string ReplayedHeader = "Idempotent-Replayed";

    public static KvAsset Asset(string bucket) => new(bucket, History: 1, MaxAge: Keep);

    /// <summary>Runs <paramref name="work"/> (given the request id) once per caller and request id, or returns what its first run answered.</summary>
    public async Task<IResult> OnceAsync<T>(HttpContext http, string caller, object request, Func<string, Task<(int Status, T Body)>> work)
    {
        var requestId = RequestIds.Of(http.Request);
        var cancellationToken = http.RequestAborted;
        var fingerprint = Fingerprint(http.Request.Method, http.Request.Path.Value ?? "", request);
        var key = new Key<KeptResponse>("r." + RequestIds.Derive("", 40, caller, requestId));
        var kept = await buckets.GetAsync(bucket);
        if (await kept.TryGetAsync(key, cancellationToken) is { Value: var earlier })
        {
            return earlier.Fingerprint == fingerprint
                ? Replay(http, earlier)
                : throw new ApiProblem(StatusCodes.Status422UnprocessableEntity, "Request id reused", $"request id {requestId} was used for a different request; use a new id for a new request");
        }

        (int Status, T Body) done;
        try
        {
            done = await work(requestId);
        }
        catch (ApiProblem problem) when (problem.Status < 500)
        {
            await kept.TryCreateAsync(key, new KeptResponse(fingerprint, problem.Status, null, problem.Title, problem.Detail, time.GetUtcNow()), cancellationToken);
            throw;
        }

        if (done.Status == StatusCodes.Status202Accepted)
        {
            // Still under way: not an answer to keep; a retry asks again.
            return TypedResults.Json(done.Body, HaetaeJson.Options, statusCode: done.Status);
        }

        var body = JsonSerializer.SerializeToElement(done.Body, HaetaeJson.Options);
        // A response kept by a concurrent attempt with the same id is the same (the work is idempotent); either is fine.
        await kept.TryCreateAsync(key, new KeptResponse(fingerprint, done.Status, body, null, null, time.GetUtcNow()), cancellationToken);
        return TypedResults.Json(done.Body, HaetaeJson.Options, statusCode: done.Status);
    }

    private static IResult Replay(HttpContext http, KeptResponse kept)
    {
        http.Response.Headers[ReplayedHeader] = "true";
        return kept.Body is { } body
            ? TypedResults.Json(body, HaetaeJson.Options, statusCode: kept.Status)
            : throw new ApiProblem(kept.Status, kept.Title ?? "Refused", kept.Detail);
    }

    private static string Fingerprint(string method, string path, object request) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{method} {path} {JsonSerializer.Serialize(request, request.GetType(), HaetaeJson.Options)}")));
}
