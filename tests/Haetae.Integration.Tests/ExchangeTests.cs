using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Duende.IdentityModel.Client;
using Haetae.Cluster;
using Haetae.Contracts;
using Haetae.Drill;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>The sample exchange, a plain ASP.NET Core app, signing its users in through Haetae and taking Haetae's tokens.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ExchangeTests(SharedClusterFixture fixture)
{
    private const string Password = "correct horse battery";

    private TestCluster Cluster => fixture.Cluster;

    private ExchangeApp Exchange => Cluster.Platform.Exchange ?? throw new InvalidOperationException("the shared cluster runs the exchange");

    [Fact]
    public async Task The_exchange_signs_a_person_in_with_its_own_openid_connect_handler()
    {
        var ct = TestContext.Current.CancellationToken;
        var (email, _) = await NewPersonAsync("하은", ct);
        using var browser = new LoginBrowser();

        var account = await browser.OpenAsync(new Uri(Exchange.Uri, "login?returnUrl=%2Faccount"), email, Password, ct);
        Assert.Equal(200, account.Status);
        Assert.Equal("/account", account.At.AbsolutePath);
        Assert.Contains("KRW", account.Text, StringComparison.Ordinal);

        var home = await browser.OpenAsync(Exchange.Uri, email, "not asked again", ct);
        Assert.Contains("Signed in as <strong>하은</strong>", WebUtility.HtmlDecode(home.Text), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_exchange_api_takes_a_haetae_access_token_from_its_phone_app_and_nothing_else()
    {
        var ct = TestContext.Current.CancellationToken;
        var (email, userId) = await NewPersonAsync("Taeyang", ct);
        using var browser = new LoginBrowser();
        var pkce = Pkce.Create();
        var site = Cluster.Spec.Sites[1].NodeUri;
        var outcome = await browser.AuthorizeAsync(
            LoginBrowser.AuthorizeUri(site, ExchangeApp.AppClientId, ExchangeApp.AppRedirectUri, $"openid offline_access {ExchangeApp.ApiScope}", pkce, "st"),
            ExchangeApp.AppRedirectUri, email, Password, ct);
        Assert.NotNull(outcome.Code);

        using var http = new HttpClient();
        var tokens = await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = new Uri(Cluster.Spec.Sites[2].NodeUri, "/connect/token").AbsoluteUri,
            ClientId = ExchangeApp.AppClientId,
            Code = outcome.Code!,
            RedirectUri = ExchangeApp.AppRedirectUri.AbsoluteUri,
            CodeVerifier = pkce.Verifier,
        }, ct);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);

        using var api = new HttpRequestMessage(HttpMethod.Get, new Uri(Exchange.Uri, "api/account"));
        api.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        using var answer = await http.SendAsync(api, ct);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal(userId, body.GetProperty("subject").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri(Exchange.Uri, "api/account"), ct)).StatusCode);
        using var forged = new HttpRequestMessage(HttpMethod.Get, new Uri(Exchange.Uri, "api/account"));
        forged.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IdentityToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged, ct)).StatusCode);
    }

    private async Task<(string Email, string UserId)> NewPersonAsync(string name, CancellationToken ct)
    {
        using var client = ChatTestUsers.ClientAt(Cluster, 0);
        var email = $"exchange-{Guid.NewGuid():N}@example.com";
        var user = await client.SignUpAsync(new SignUpRequest(null, email, name, Password), cancellationToken: ct);
        return (email, user.Id);
    }
}
