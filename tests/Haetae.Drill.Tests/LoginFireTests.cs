using System.Net;
using System.Net.Http.Headers;
using Duende.IdentityModel.Client;
using Haetae.Cluster;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Drill.Tests;

/// <summary>
/// Login for other apps through real fires: people still log in with a site burned, and the exchange
/// keeps validating the tokens it holds with every site down, even after it restarts.
/// </summary>
public sealed class LoginFireTests
{
    private const string Password = "correct horse battery";
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Logins_work_with_a_site_burned_and_the_exchange_validates_with_haetae_down_even_after_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct, withExchange: true);
        var exchange = cluster.Platform.Exchange!;
        var sites = cluster.Spec.Sites;
        using var people = ChatTestUsers.ClientAt(cluster, 1);
        var email = $"fire-{Guid.NewGuid():N}@example.com";
        var user = await people.SignUpAsync(new SignUpRequest(null, email, "불사조", Password), cancellationToken: ct);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

        var before = await LogInAsync(http, sites[0].NodeUri, sites[0].NodeUri, email, ct);
        Assert.Null(before.Error);
        Assert.Equal(HttpStatusCode.OK, await CallExchangeAsync(http, exchange, before.AccessToken!, ct));

        // The site that issued the first token burns. Logins begin and finish at the survivors, one
        // begun at one and redeemed at the other; the exchange's own website logs people in too.
        await cluster.Platform.FireAsync(sites[0].Name, ct);
        var during = await Eventually.WaitForAsync("a login at the surviving sites after the fire", PhaseTimeout,
            t => LogInAsync(http, sites[1].NodeUri, sites[2].NodeUri, email, t), tokens => tokens.AccessToken is not null, ct);
        Assert.Equal(HttpStatusCode.OK, await CallExchangeAsync(http, exchange, during.AccessToken!, ct));
        Assert.Equal(HttpStatusCode.OK, await CallExchangeAsync(http, exchange, before.AccessToken!, ct));
        var refreshed = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = new Uri(sites[2].NodeUri, "/connect/token").AbsoluteUri,
            ClientId = ExchangeApp.AppClientId,
            RefreshToken = before.RefreshToken!,
        }, ct);
        Assert.False(refreshed.IsError, $"a refresh token issued by the burned site: {refreshed.Error} {refreshed.ErrorDescription}");
        var page = await Eventually.WaitForAsync("the exchange's website logs a person in after the fire", PhaseTimeout,
            t => OpenExchangeAsync(exchange, email, t), p => p is { Status: 200, At.AbsolutePath: "/account" }, ct);
        Assert.Contains("KRW", page!.Text, StringComparison.Ordinal);

        // Every site down: Haetae is unreachable. The exchange still checks the tokens it holds...
        await cluster.Platform.FireAsync(sites[1].Name, ct);
        await cluster.Platform.FireAsync(sites[2].Name, ct);
        Assert.Equal(HttpStatusCode.OK, await CallExchangeAsync(http, exchange, during.AccessToken!, ct));
        Assert.Equal(HttpStatusCode.OK, await CallExchangeAsync(http, exchange, refreshed.AccessToken!, ct));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallExchangeAsync(http, exchange, during.AccessToken! + "x", ct));

        // ...and, restarted while Haetae is still down, starts and checks them from its copy of the keys.
        await exchange.StopAsync(TimeSpan.FromSeconds(10));
        await exchange.StartAsync(ct);
        Assert.Equal(HttpStatusCode.OK, await CallExchangeAsync(http, exchange, during.AccessToken!, ct));
        Assert.Contains(user.Id, await (await SendAsync(http, exchange, during.AccessToken!, ct)).Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }

    /// <summary>One login through the exchange's phone app; a failure (an election under way, say) comes back as its reason, for the caller to retry.</summary>
    private static async Task<Login> LogInAsync(HttpClient http, Uri authorizeAt, Uri redeemAt, string email, CancellationToken ct)
    {
        try
        {
            using var browser = new LoginBrowser();
            var pkce = Pkce.Create();
            var outcome = await browser.AuthorizeAsync(
                LoginBrowser.AuthorizeUri(authorizeAt, ExchangeApp.AppClientId, ExchangeApp.AppRedirectUri, $"openid offline_access {ExchangeApp.ApiScope}", pkce, "fire"),
                ExchangeApp.AppRedirectUri, email, Password, ct);
            if (outcome.Code is null)
            {
                return new Login(null, null, $"{outcome.Error}: {outcome.ErrorDescription}");
            }

            var tokens = await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
            {
                Address = new Uri(redeemAt, "/connect/token").AbsoluteUri,
                ClientId = ExchangeApp.AppClientId,
                Code = outcome.Code,
                RedirectUri = ExchangeApp.AppRedirectUri.AbsoluteUri,
                CodeVerifier = pkce.Verifier,
            }, ct);
            return new Login(tokens.AccessToken, tokens.RefreshToken, tokens.IsError ? $"{tokens.Error}: {tokens.ErrorDescription}" : null);
        }
        catch (Exception e) when (e is HttpRequestException or LoginFlowException)
        {
            return new Login(null, null, e.Message);
        }
    }

    private sealed record Login(string? AccessToken, string? RefreshToken, string? Error);

    private static async Task<BrowsedPage?> OpenExchangeAsync(ExchangeApp exchange, string email, CancellationToken ct)
    {
        try
        {
            using var browser = new LoginBrowser();
            return await browser.OpenAsync(new Uri(exchange.Uri, "login?returnUrl=%2Faccount"), email, Password, ct);
        }
        catch (Exception e) when (e is HttpRequestException or LoginFlowException)
        {
            return null;
        }
    }

    private static async Task<HttpStatusCode> CallExchangeAsync(HttpClient http, ExchangeApp exchange, string token, CancellationToken ct)
    {
        using var response = await SendAsync(http, exchange, token, ct);
        return response.StatusCode;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, ExchangeApp exchange, string token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(exchange.Uri, "api/account"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request, ct);
    }
}
