using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Haetae.Status;

/// <summary>A webhook subscriber, with the key its payloads are signed with.</summary>
internal sealed record Subscription(string Id, string Url, string Secret, DateTimeOffset CreatedAt);

/// <summary>
/// One update on its way to one subscriber. A node claims it (compare-and-set) before it sends, so only
/// one node sends it at a time; <see cref="Delivered"/> is set once the subscriber answered 2xx, after
/// which it is never sent again. A claim older than <see cref="Webhooks.ClaimLifetime"/> (its node burned
/// mid-send) may be taken over.
/// </summary>
internal sealed record Delivery(int Attempts, DateTimeOffset NextAt, string? ClaimedBy, DateTimeOffset? ClaimedAt, DateTimeOffset? Delivered, string? LastError);

/// <summary>
/// Webhook subscriptions and their deliveries: every incident update is POSTed once to every subscriber
/// (JSON <see cref="WebhookPayload"/>), signed as "Haetae-Signature: t=UNIX,v1=HEX" where HEX is the
/// HMAC-SHA256 of "UNIX.BODY" under the subscriber's secret, and retried with back-off (1 s doubling to
/// 10 min, 20 attempts) until it is answered 2xx. Every node delivers; the claims keep them from sending twice.
/// </summary>
/// <param name="PrivateWebhooks">Whether subscribers may be at loopback and private addresses (a local platform: everything is on loopback). Off in production: a public subscription must not reach inside.</param>
public sealed record StatusOptions(bool PrivateWebhooks = false);

internal sealed partial class Webhooks(Buckets buckets, StatusCache cache, NodeOptions node, StatusOptions options, IHttpClientFactory http, TimeProvider time, ILogger<Webhooks> logger) : BackgroundService
{
    public const int MaxAttempts = 20;
    public const int MaxSubscriptions = 1_000;
    public static readonly TimeSpan ClaimLifetime = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxBackOff = TimeSpan.FromMinutes(10);

    /// <summary>A send that takes longer than this is an attempt that failed (well inside <see cref="ClaimLifetime"/>).</summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Deliveries this node had answered 2xx whose "delivered" the store has not taken yet.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _answered = new(StringComparer.Ordinal);

    /// <summary>Updates older than this when a subscriber joined are not sent to it (a new subscriber starts from now).</summary>
    private static readonly TimeSpan Backlog = TimeSpan.FromMinutes(10);

    public async Task<SubscriptionView> SubscribeAsync(SubscribeRequest request, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(request.Url?.Trim(), UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || url.UserInfo.Length > 0 || url.AbsoluteUri.Length > 2000)
        {
            throw ApiProblem.BadRequest("url must be an absolute http or https address without credentials, at most 2,000 characters");
        }

        if (!options.PrivateWebhooks && await IsPrivateAsync(url, cancellationToken))
        {
            throw ApiProblem.BadRequest("url must be a public address (not loopback, private or link-local)");
        }

        if (cache.Subscriptions.Count >= MaxSubscriptions)
        {
            throw ApiProblem.Conflict($"at most {MaxSubscriptions} webhook subscriptions");
        }

        var store = await buckets.GetAsync(StatusKeys.Bucket);
        var subscription = new Subscription(
            Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), url.AbsoluteUri, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), time.GetUtcNow());
        await store.TryCreateAsync(StatusKeys.Subscription(subscription.Id), subscription, cancellationToken);
        return new SubscriptionView(subscription.Id, subscription.Url, subscription.Secret, subscription.CreatedAt);
    }

    /// <summary>Ends a subscription; the secret proves it is the subscriber's (or the operator's admin call).</summary>
    public async Task UnsubscribeAsync(string id, string? secret, bool admin, CancellationToken cancellationToken)
    {
        var store = await buckets.GetAsync(StatusKeys.Bucket);
        var found = id.Length is > 0 and <= 32 && id.All(char.IsAsciiHexDigitLower) ? await store.TryGetAsync(StatusKeys.Subscription(id), cancellationToken) : null;
        if (found is null || (!admin && !FixedEquals(found.Value.Secret, secret ?? "")))
        {
            throw ApiProblem.NotFound("no such subscription (or not yours)");
        }

        await store.DeleteAsync(StatusKeys.Subscription(id), cancellationToken);
    }

    public IReadOnlyList<SubscriptionView> List() => [.. cache.Subscriptions.Select(s => new SubscriptionView(s.Id, s.Url, null, s.CreatedAt))];

    /// <summary>The signature header of <paramref name="body"/>, as a subscriber checks it.</summary>
    public static string Sign(string secret, long unixSeconds, byte[] body)
    {
        var signed = Encoding.UTF8.GetBytes($"{unixSeconds}.").Concat(body).ToArray();
        return $"t={unixSeconds},v1={Convert.ToHexStringLower(HMACSHA256.HashData(Convert.FromBase64String(secret), signed))}";
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        while (await tick.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await DeliverDueAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogDeliveryFailed("-", e.Message);
            }
        }
    }

    private async Task DeliverDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var recent = cache.Incidents.Where(i => i.End is null || now - i.End.Value < TimeSpan.FromDays(1)).ToList();
        if (recent.Count == 0)
        {
            return;
        }

        var subscriptions = cache.Subscriptions;
        if (subscriptions.Count == 0)
        {
            return;
        }

        var store = await buckets.GetAsync(StatusKeys.Bucket);
        foreach (var subscription in subscriptions)
        {
            foreach (var incident in recent)
            {
                foreach (var update in incident.Updates.Where(u => u.At >= subscription.CreatedAt - Backlog))
                {
                    await TryDeliverAsync(store, subscription, incident, update, cancellationToken);
                }
            }
        }
    }

    private async Task TryDeliverAsync(JsonBucket store, Subscription subscription, IncidentView incident, IncidentUpdate update, CancellationToken cancellationToken)
    {
        var key = StatusKeys.Delivery(subscription.Id, incident.Id, update.Id);
        var deliveryId = $"{subscription.Id}.{incident.Id}.{update.Id}";
        if (_answered.ContainsKey(deliveryId))
        {
            // Answered 2xx, but the store did not take "delivered" then: never sent again, only marked.
            await MarkDeliveredAsync(store, key, deliveryId, cancellationToken);
            return;
        }

        var now = time.GetUtcNow();
        var current = await store.GetFromLeaderAsync(key, cancellationToken);
        var state = current?.Value;
        if (state is { Delivered: not null } || state is { Attempts: >= MaxAttempts } || (state is not null && state.NextAt > now)
            || (state is { ClaimedAt: { } claimed } && state.ClaimedBy != node.Site && now - claimed < ClaimLifetime))
        {
            return;
        }

        // Claim it: only the node whose compare-and-set wins sends this attempt.
        var claim = (state ?? new Delivery(0, now, null, null, null, null)) with { ClaimedBy = node.Site, ClaimedAt = now };
        var revision = current is null ? await store.CreateAsync(key, claim, cancellationToken) : await store.ReplaceAsync(key, claim, current.Revision, cancellationToken);
        if (revision is null)
        {
            return;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new WebhookPayload(deliveryId, incident, update), HaetaeJson.Options);
        string? error = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.Add("Haetae-Delivery", deliveryId);
            request.Headers.Add("Haetae-Signature", Sign(subscription.Secret, time.GetUtcNow().ToUnixTimeSeconds(), body));
            using var client = http.CreateClient(nameof(Webhooks));
            client.Timeout = SendTimeout;
            using var response = await client.SendAsync(request, cancellationToken);
            error = response.IsSuccessStatusCode ? null : $"answered {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            // Refused, unreachable, timed out, a bad address: each an attempt.
            error = e.Message;
        }

        if (error is null)
        {
            _answered[deliveryId] = 0;
            await MarkDeliveredAsync(store, key, deliveryId, cancellationToken);
            return;
        }

        LogDeliveryFailed(deliveryId, error);
        var attempts = claim.Attempts + 1;
        await store.ReplaceAsync(key, claim with { Attempts = attempts, NextAt = time.GetUtcNow() + BackOff(attempts), ClaimedBy = null, ClaimedAt = null, LastError = error }, revision.Value, cancellationToken);
    }

    /// <summary>Records that the subscriber answered 2xx (again on the next pass if the store does not take it now; never sent again either way).</summary>
    private async Task MarkDeliveredAsync(JsonBucket store, Key<Delivery> key, string deliveryId, CancellationToken cancellationToken)
    {
        var done = await store.UpdateAsync(
            key,
            d => d is { Delivered: not null }
                ? d
                : (d ?? new Delivery(0, time.GetUtcNow(), null, null, null, null)) with { Attempts = (d?.Attempts ?? 0) + 1, Delivered = time.GetUtcNow(), ClaimedBy = null, ClaimedAt = null, LastError = null },
            cancellationToken);
        if (done.Delivered is not null)
        {
            _answered.TryRemove(deliveryId, out _);
        }
    }

    /// <summary>Whether <paramref name="url"/>'s host is, or resolves to, an address inside (checked when subscribing; redirects are not followed).</summary>
    private static async Task<bool> IsPrivateAsync(Uri url, CancellationToken cancellationToken)
    {
        System.Net.IPAddress[] addresses;
        try
        {
            addresses = System.Net.IPAddress.TryParse(url.DnsSafeHost, out var literal) ? [literal] : await System.Net.Dns.GetHostAddressesAsync(url.DnsSafeHost, cancellationToken);
        }
        catch (System.Net.Sockets.SocketException)
        {
            throw ApiProblem.BadRequest($"the host '{url.Host}' does not resolve");
        }

        return addresses.Length == 0 || addresses.Any(a =>
        {
            var ip = a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
            var b = ip.GetAddressBytes();
            return System.Net.IPAddress.IsLoopback(ip) || ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6UniqueLocal || ip.Equals(System.Net.IPAddress.Any) || ip.Equals(System.Net.IPAddress.IPv6Any)
                || (b.Length == 4 && (b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127) || b[0] == 0));
        });
    }

    /// <summary>1 s, 2 s, 4 s... up to <see cref="MaxBackOff"/>.</summary>
    public static TimeSpan BackOff(int attempts) => TimeSpan.FromSeconds(Math.Min(MaxBackOff.TotalSeconds, Math.Pow(2, Math.Max(0, attempts - 1))));

    private static bool FixedEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(a)), SHA256.HashData(Encoding.UTF8.GetBytes(b)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {Delivery} failed: {Reason}")]
    private partial void LogDeliveryFailed(string delivery, string reason);
}
