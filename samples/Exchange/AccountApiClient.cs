using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Exchange;

/// <summary>What the account page got from the API.</summary>
internal abstract record AccountOutcome
{
    public sealed record Shown(AccountResponse Account) : AccountOutcome;

    /// <summary>No usable access token: the provider session has to be renewed by signing in again.</summary>
    public sealed record SignInAgain : AccountOutcome;

    public sealed record Failed(int StatusCode, string Message) : AccountOutcome;
}

/// <summary>
/// Reads the signed-in user's balances through the exchange's own HTTP API, exactly as a separate front end
/// would: with the access token the provider issued at sign-in (kept in the cookie by SaveTokens). Going over
/// HTTP instead of calling <see cref="AccountApi.For"/> directly makes the web login exercise the API's token
/// checks (audience, issuer, type, scope) end to end.
/// </summary>
internal sealed partial class AccountApiClient(
    IHttpClientFactory httpClients,
    MultiSiteConfigurationManager provider,
    ExchangeOptions options,
    TimeProvider time,
    ILogger<AccountApiClient> logger)
{
    public const string HttpClientName = "exchange-api";

    // Refresh a little before expiry so that the token does not expire between here and the API's check.
    private static readonly TimeSpan ExpirySkew = TimeSpan.FromSeconds(30);

    public async Task<AccountOutcome> GetAccountAsync(HttpContext context)
    {
        var signIn = await context.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        if (!signIn.Succeeded)
        {
            return new AccountOutcome.SignInAgain();
        }

        var accessToken = await FreshAccessTokenAsync(context, signIn);
        if (accessToken is null)
        {
            return new AccountOutcome.SignInAgain();
        }

        var http = httpClients.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(SelfAddress(context), "/api/account"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await http.SendAsync(request, context.RequestAborted);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(context.RequestAborted);
            LogApiRefused((int)response.StatusCode, body);
            return new AccountOutcome.Failed((int)response.StatusCode, response.ReasonPhrase ?? "");
        }

        var account = await response.Content.ReadFromJsonAsync<AccountResponse>(context.RequestAborted);
        return account is null ? new AccountOutcome.Failed((int)response.StatusCode, "empty answer") : new AccountOutcome.Shown(account);
    }

    /// <summary>
    /// The saved access token, or a new one obtained with the saved refresh token (scope offline_access) when it
    /// is about to expire; the cookie is then re-issued with the new tokens. Null when neither works.
    /// </summary>
    private async Task<string?> FreshAccessTokenAsync(HttpContext context, AuthenticateResult signIn)
    {
        var properties = signIn.Properties!;
        var accessToken = properties.GetTokenValue("access_token");
        var expiresAt = DateTimeOffset.TryParse(properties.GetTokenValue("expires_at"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            ? at
            : (DateTimeOffset?)null;
        var now = time.GetUtcNow();
        if (accessToken is not null && (expiresAt is null || expiresAt > now + ExpirySkew))
        {
            return accessToken;
        }

        var refreshToken = properties.GetTokenValue("refresh_token");
        if (refreshToken is null)
        {
            return null;
        }

        // The token endpoint of the site in use: any site serves any client and honours any refresh token, so the
        // back-channel client resends the request to the next site if this one does not answer.
        var configuration = await provider.GetConfigurationAsync(context.RequestAborted);
        var http = httpClients.CreateClient(SiteFailoverHandler.BackchannelClientName);
        // client_secret_post, as the OpenID Connect handler authenticates at the token endpoint.
        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = options.ClientId,
            ["client_secret"] = options.ClientSecret,
        });
        using var response = await http.PostAsync(configuration.TokenEndpoint, content, context.RequestAborted);
        if (!response.IsSuccessStatusCode)
        {
            LogRefreshFailed((int)response.StatusCode);
            return null;
        }

        using var answer = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(context.RequestAborted), cancellationToken: context.RequestAborted);
        var root = answer.RootElement;
        if (!root.TryGetProperty("access_token", out var newAccess) || newAccess.GetString() is not { Length: > 0 } newAccessToken)
        {
            LogRefreshFailed((int)response.StatusCode);
            return null;
        }

        var tokens = properties.GetTokens().ToDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);
        tokens["access_token"] = newAccessToken;
        // The provider may rotate the refresh token (and send a new ID token); keep the newest of each.
        foreach (var name in (string[])["refresh_token", "id_token", "token_type"])
        {
            if (root.TryGetProperty(name, out var value) && value.GetString() is { Length: > 0 } text)
            {
                tokens[name] = text;
            }
        }

        if (root.TryGetProperty("expires_in", out var expiresIn) && expiresIn.TryGetInt32(out var seconds))
        {
            tokens["expires_at"] = (now + TimeSpan.FromSeconds(seconds)).ToString("o", CultureInfo.InvariantCulture);
        }

        properties.StoreTokens(tokens.Select(t => new AuthenticationToken { Name = t.Key, Value = t.Value }));
        // Two tabs refreshing at once may both use the old refresh token; the loser just signs in again.
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, signIn.Principal!, properties);
        LogRefreshed();
        return newAccessToken;
    }

    /// <summary>
    /// This app's own address, from the connection the request arrived on rather than the Host header (which the
    /// client controls): the server is certainly listening there.
    /// </summary>
    private static Uri SelfAddress(HttpContext context)
    {
        var ip = context.Connection.LocalIpAddress ?? IPAddress.Loopback;
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        return new UriBuilder(context.Request.Scheme, ip.ToString(), context.Connection.LocalPort).Uri;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The account API refused the saved access token with {StatusCode}: {Body}")]
    private partial void LogApiRefused(int statusCode, string body);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refreshing the access token failed ({StatusCode}); the user has to sign in again")]
    private partial void LogRefreshFailed(int statusCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Access token refreshed with the refresh token")]
    private partial void LogRefreshed();
}
