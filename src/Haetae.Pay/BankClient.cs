using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Haetae.Contracts;

namespace Haetae.Pay;

/// <summary>Where the bank is and how to sign calls to it (Haetae:Pay:Bank).</summary>
public sealed class BankOptions
{
    public Uri? Uri { get; set; }

    public string Secret { get; set; } = "";
}

/// <summary>What the bank answered: done, or refused (nothing moved at the bank), with why.</summary>
public sealed record BankAnswer(bool Done, string? Reason);

/// <summary>The bank did not answer in time, or answered that it cannot now: what it did is not known yet; asking again with the same key finds out.</summary>
public sealed class BankUnavailable(string message) : Exception(message);

/// <summary>
/// The bank's API as the platform calls it: a debit (top-up) or credit (withdrawal) of a person's bank
/// account under a key the platform chooses, the hold's id, so that asking again, from any node at any
/// time, applies it once at the bank and returns its first answer.
/// </summary>
public sealed class BankClient(HttpClient http, BankOptions options)
{
    /// <summary>
    /// How long one call may take before the move is left pending for the reconciler: well inside a client's
    /// attempt (5 s in the .NET client), so a slow bank gets the person a "pending" answer, not a time-out and a retry.
    /// </summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);

    public Task<BankAnswer> DebitAsync(string key, string account, long amount, CancellationToken cancellationToken) => CallAsync("v1/debits", key, account, amount, cancellationToken);

    public Task<BankAnswer> CreditAsync(string key, string account, long amount, CancellationToken cancellationToken) => CallAsync("v1/credits", key, account, amount, cancellationToken);

    private async Task<BankAnswer> CallAsync(string path, string key, string account, long amount, CancellationToken cancellationToken)
    {
        if (options.Uri is null)
        {
            throw new BankUnavailable("no bank is configured (Haetae:Pay:Bank:Uri)");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.Uri, path)) { Content = JsonContent.Create(new { key, account, amount }) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Secret);
            using var response = await http.SendAsync(request, timeout.Token);
            if (response.IsSuccessStatusCode)
            {
                return new BankAnswer(true, null);
            }

            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>(HaetaeJson.Options, timeout.Token);
                return new BankAnswer(false, problem.TryGetProperty("detail", out var detail) ? detail.GetString() : "refused by the bank");
            }

            // A 409 (the key names another operation) or 400 would be the platform's bug, never the person's:
            // the move stays pending and is reported, rather than being settled on a guess.
            throw new BankUnavailable($"the bank answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            throw new BankUnavailable($"the bank did not answer: {e.Message}");
        }
    }
}
