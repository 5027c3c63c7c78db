using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Duende.IdentityModel.Client;
using Haetae.Contracts;
using Haetae.Drill;
using Haetae.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Haetae.Integration.Tests;

/// <summary>
/// The login provider on a real three-site cluster, driven by a standard OAuth client library and a
/// browser that fills in the provider's pages: flows begun at one site finish at another.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class LoginTests(SharedClusterFixture fixture)
{
    private const string Issuer = "https://login.haetae.local/";
    private const string Password = "correct horse battery";
    private static readonly Uri RedirectUri = new("http://127.0.0.1:9/callback");
    private static readonly Uri SignedOutUri = new("http://127.0.0.1:9/signed-out");

    private TestCluster Cluster => fixture.Cluster;

    private Uri Site(int i) => Cluster.Spec.Sites[i].NodeUri;

    [Fact]
    public async Task Code_begun_at_one_site_is_redeemed_at_a_second_and_refreshed_at_a_third()
    {
        var ct = TestContext.Current.CancellationToken;
        var (clientId, secret) = await RegisterAppAsync(ct);
        var (email, userId) = await NewPersonAsync("Jiwoo", ct);
        using var http = new HttpClient();

        var pkce = Pkce.Create();
        var code = await SignInAsync(Site(0), clientId, email, pkce, ct);

        var tokens = await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = new Uri(Site(1), "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = secret,
            Code = code,
            RedirectUri = RedirectUri.AbsoluteUri,
            CodeVerifier = pkce.Verifier,
        }, ct);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        Assert.NotNull(tokens.RefreshToken);

        // Any site's keys validate any site's tokens: the access token is a plain at+jwt for third parties.
        var access = await ValidateAsync(tokens.AccessToken!, Site(2), audience: null, ct);
        Assert.Equal(userId, access.Subject);
        Assert.Equal("at+jwt", access.Typ);
        var id = await ValidateAsync(tokens.IdentityToken!, Site(2), audience: clientId, ct);
        Assert.Equal("Jiwoo", id.GetClaim("name").Value);

        var refreshed = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = new Uri(Site(2), "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = secret,
            RefreshToken = tokens.RefreshToken!,
        }, ct);
        Assert.False(refreshed.IsError, refreshed.Error + " " + refreshed.ErrorDescription);
        Assert.NotEqual(tokens.RefreshToken, refreshed.RefreshToken);

        var info = await http.GetUserInfoAsync(new UserInfoRequest { Address = new Uri(Site(0), "/connect/userinfo").AbsoluteUri, Token = refreshed.AccessToken! }, ct);
        Assert.False(info.IsError, info.Error);
        Assert.Equal(userId, info.TryGet("sub"));
        Assert.Equal("Jiwoo", info.TryGet("name"));

        // Revocation at one site holds at another.
        var revoked = await http.RevokeTokenAsync(new TokenRevocationRequest
        {
            Address = new Uri(Site(0), "/connect/revoke").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = secret,
            Token = refreshed.RefreshToken!,
        }, ct);
        Assert.False(revoked.IsError, revoked.Error);
        var afterRevoke = await RefreshAsync(http, Site(1), clientId, secret, refreshed.RefreshToken!, ct);
        Assert.Equal("invalid_grant", afterRevoke.Error);
    }

    [Fact]
    public async Task First_sign_in_asks_for_consent_and_a_second_one_does_not()
    {
        var ct = TestContext.Current.CancellationToken;
        var (clientId, _) = await RegisterAppAsync(ct);
        var (email, _) = await NewPersonAsync("Seoyeon", ct);
        using var browser = new LoginBrowser();
        var pkce = Pkce.Create();
        var first = await browser.AuthorizeAsync(LoginBrowser.AuthorizeUri(Site(0), clientId, RedirectUri, "openid profile", pkce, "s1"), RedirectUri, email, Password, ct);
        Assert.NotNull(first.Code);
        Assert.Equal("s1", first.State);
        Assert.Equal((1, 1), (browser.SignIns, browser.Consents));

        // The same browser again: signed in and consented, so straight back with a code, even with prompt=none.
        var again = await browser.AuthorizeAsync(LoginBrowser.AuthorizeUri(Site(0), clientId, RedirectUri, "openid profile", Pkce.Create(), "s2", prompt: "none"), RedirectUri, email, "not used", ct);
        Assert.NotNull(again.Code);
        Assert.Equal((1, 1), (browser.SignIns, browser.Consents));

        // Another browser at another site: the password again (the sign-in is per site), but no consent page (it is stored).
        using var second = new LoginBrowser();
        Assert.NotNull((await second.AuthorizeAsync(LoginBrowser.AuthorizeUri(Site(2), clientId, RedirectUri, "openid profile", Pkce.Create(), "s4"), RedirectUri, email, Password, ct)).Code);
        Assert.Equal((1, 0), (second.SignIns, second.Consents));

        // A browser that is not signed in asking with prompt=none is told so, at the client's redirect URI.
        using var stranger = new LoginBrowser();
        var none = await stranger.AuthorizeAsync(LoginBrowser.AuthorizeUri(Site(1), clientId, RedirectUri, "openid", Pkce.Create(), "s3", prompt: "none"), RedirectUri, email, Password, ct);
        Assert.Equal("login_required", none.Error);
    }

    [Fact]
    public async Task Signing_out_ends_the_session_and_returns_only_to_a_registered_address()
    {
        var ct = TestContext.Current.CancellationToken;
        var (clientId, _) = await RegisterAppAsync(ct);
        var (email, _) = await NewPersonAsync("Jisoo", ct);
        using var browser = new LoginBrowser();
        Assert.NotNull((await browser.AuthorizeAsync(LoginBrowser.AuthorizeUri(Site(1), clientId, RedirectUri, "openid", Pkce.Create(), "a"), RedirectUri, email, Password, ct)).Code);

        var elsewhere = await browser.VisitAsync(new Uri(Site(1), $"/connect/endsession?client_id={clientId}&post_logout_redirect_uri={Uri.EscapeDataString("https://evil.example/")}"), ct);
        Assert.Equal((400, null), elsewhere);

        var signedOut = await browser.VisitAsync(new Uri(Site(1), $"/connect/endsession?client_id={clientId}&post_logout_redirect_uri={Uri.EscapeDataString(SignedOutUri.AbsoluteUri)}&state=bye"), ct);
        Assert.Equal(302, signedOut.Status);
        Assert.Equal($"{SignedOutUri.AbsoluteUri}?state=bye", signedOut.Location!.AbsoluteUri);

        var after = await browser.AuthorizeAsync(LoginBrowser.AuthorizeUri(Site(1), clientId, RedirectUri, "openid", Pkce.Create(), "b", prompt: "none"), RedirectUri, email, Password, ct);
        Assert.Equal("login_required", after.Error);
    }

    [Fact]
    public async Task A_replayed_code_is_rejected_and_revokes_what_it_issued()
    {
        var ct = TestContext.Current.CancellationToken;
        var (clientId, secret) = await RegisterAppAsync(ct);
        var (email, _) = await NewPersonAsync("Haneul", ct);
        using var http = new HttpClient();
        var pkce = Pkce.Create();
        var code = await SignInAsync(Site(0), clientId, email, pkce, ct);

        var first = await RedeemAsync(http, Site(1), clientId, secret, code, pkce, ct);
        Assert.False(first.IsError, first.Error + " " + first.ErrorDescription);
        var replay = await RedeemAsync(http, Site(2), clientId, secret, code, pkce, ct);
        Assert.Equal("invalid_grant", replay.Error);

        // What the first redemption issued is revoked: its refresh token and its access token.
        Assert.Equal("invalid_grant", (await RefreshAsync(http, Site(0), clientId, secret, first.RefreshToken!, ct)).Error);
        var info = await http.GetUserInfoAsync(new UserInfoRequest { Address = new Uri(Site(1), "/connect/userinfo").AbsoluteUri, Token = first.AccessToken! }, ct);
        Assert.Equal(HttpStatusCode.Unauthorized, info.HttpStatusCode);
    }

    [Fact]
    public async Task Three_sites_redeeming_one_code_or_refresh_token_at_once_issue_tokens_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var (clientId, secret) = await RegisterAppAsync(ct);
        var (email, _) = await NewPersonAsync("Dayeon", ct);
        using var http = new HttpClient();

        // Several rounds: the race is between three sites, each round a new code (the compare-and-set alone decides it).
        for (var round = 0; round < 20; round++)
        {
            var pkce = Pkce.Create();
            var code = await SignInAsync(Site(round % 3), clientId, email, pkce, ct);
            var redeemed = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => RedeemAsync(http, Site(i), clientId, secret, code, pkce, ct)));
            var winners = redeemed.Where(r => !r.IsError).ToList();
            Assert.True(winners.Count <= 1, $"round {round}: {winners.Count} redemptions of one code succeeded");
            Assert.All(redeemed.Where(r => r.IsError), r => Assert.Equal("invalid_grant", r.Error));
            if (winners.Count == 0)
            {
                continue;
            }

            var refreshed = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => RefreshAsync(http, Site(i), clientId, secret, winners[0].RefreshToken!, ct)));
            Assert.True(refreshed.Count(r => !r.IsError) <= 1, $"round {round}: one refresh token was redeemed {refreshed.Count(r => !r.IsError)} times");
        }
    }

    [Fact]
    public async Task A_reused_refresh_token_is_rejected_and_revokes_its_chain()
    {
        var ct = TestContext.Current.CancellationToken;
        var (clientId, secret) = await RegisterAppAsync(ct);
        var (email, _) = await NewPersonAsync("Yuna", ct);
        using var http = new HttpClient();
        var pkce = Pkce.Create();
        var tokens = await RedeemAsync(http, Site(1), clientId, secret, await SignInAsync(Site(1), clientId, email, pkce, ct), pkce, ct);

        var next = await RefreshAsync(http, Site(0), clientId, secret, tokens.RefreshToken!, ct);
        Assert.False(next.IsError, next.Error);
        var reuse = await RefreshAsync(http, Site(2), clientId, secret, tokens.RefreshToken!, ct);
        Assert.Equal("invalid_grant", reuse.Error);
        // The thief's reuse also cost the legitimate holder the newer token: the whole chain is revoked.
        Assert.Equal("invalid_grant", (await RefreshAsync(http, Site(1), clientId, secret, next.RefreshToken!, ct)).Error);
    }

    [Fact]
    public async Task Client_credentials_give_an_api_token_that_a_third_party_validates()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = Admin(0);
        var scope = $"api{Guid.NewGuid():N}"[..12];
        (await admin.PutAsJsonAsync($"/admin/scopes/{scope}", new ScopeRegistration("Test API", "test-api"), ct)).EnsureSuccessStatusCode();
        var clientId = $"svc-{Guid.NewGuid():N}"[..20];
        var registered = await (await admin.PutAsJsonAsync($"/admin/clients/{clientId}", new ClientRegistration("Batch job", Scopes: [scope], ClientCredentials: true), ct))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<ClientView>(ct);
        Assert.NotNull(registered!.ClientSecret);

        using var http = new HttpClient();
        var token = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = new Uri(Site(2), "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = registered.ClientSecret,
            Scope = scope,
        }, ct);
        Assert.False(token.IsError, token.Error + " " + token.ErrorDescription);
        var jwt = await ValidateAsync(token.AccessToken!, Site(0), audience: "test-api", ct);
        Assert.Equal(clientId, jwt.Subject);
        Assert.Equal(scope, jwt.GetClaim("scope").Value);

        var wrong = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = new Uri(Site(1), "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = registered.ClientSecret + "x",
            Scope = scope,
        }, ct);
        Assert.Equal("invalid_client", OAuthError(wrong));

        // The secret is stored hashed: the bucket entry does not contain it.
        await using var nats = await Cluster.ConnectAsync();
        var index = await LeaderEntryAsync(nats, Assets.LoginClientsBucket, $"client.{clientId}", ct);
        var appId = System.Text.Json.JsonDocument.Parse(index.Data).RootElement.GetProperty("id").GetString();
        var app = await LeaderEntryAsync(nats, Assets.LoginClientsBucket, $"app.{appId}", ct);
        Assert.DoesNotContain(registered.ClientSecret!, System.Text.Encoding.UTF8.GetString(app.Data.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_requests_get_the_standard_oauth_error_and_never_a_5xx()
    {
        var ct = TestContext.Current.CancellationToken;
        var (clientId, secret) = await RegisterAppAsync(ct);
        var (email, _) = await NewPersonAsync("Minho", ct);
        using var raw = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        // A redirect URI that was not registered: the provider must not redirect there; it answers itself.
        var evil = await raw.GetAsync(LoginBrowser.AuthorizeUri(Site(0), clientId, new Uri("https://evil.example/cb"), "openid", Pkce.Create(), "x"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, evil.StatusCode);
        Assert.Null(evil.Headers.Location);

        // No PKCE, and PKCE "plain": refused, at the registered redirect URI.
        var noPkce = await raw.GetAsync(new Uri(Site(0), $"/connect/authorize?client_id={clientId}&redirect_uri={Uri.EscapeDataString(RedirectUri.AbsoluteUri)}&response_type=code&scope=openid&state=x"), ct);
        Assert.Equal("invalid_request", await ErrorAtAsync(noPkce));
        var plain = await raw.GetAsync(new Uri(Site(0), $"/connect/authorize?client_id={clientId}&redirect_uri={Uri.EscapeDataString(RedirectUri.AbsoluteUri)}&response_type=code&scope=openid&state=x&code_challenge=abcdefghijabcdefghijabcdefghijabcdefghij123&code_challenge_method=plain"), ct);
        Assert.Equal("invalid_request", await ErrorAtAsync(plain));
        var unknownClient = await raw.GetAsync(LoginBrowser.AuthorizeUri(Site(0), "no-such-client", RedirectUri, "openid", Pkce.Create(), "x"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknownClient.StatusCode);

        using var http = new HttpClient();
        var pkce = Pkce.Create();
        var code = await SignInAsync(Site(0), clientId, email, pkce, ct);
        Assert.Equal("invalid_client", OAuthError(await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = new Uri(Site(1), "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = "wrong-secret",
            Code = code,
            RedirectUri = RedirectUri.AbsoluteUri,
            CodeVerifier = pkce.Verifier,
        }, ct)));
        Assert.Equal("invalid_grant", (await RedeemAsync(http, Site(1), clientId, secret, code, Pkce.Create(), ct)).Error);
        Assert.Equal("invalid_grant", (await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = new Uri(Site(1), "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = secret,
            Code = code,
            RedirectUri = "http://127.0.0.1:9/other",
            CodeVerifier = pkce.Verifier,
        }, ct)).Error);
        Assert.Equal("invalid_grant", (await RedeemAsync(http, Site(1), clientId, secret, "not-a-code", pkce, ct)).Error);
        var garbage = await http.PostAsync(new Uri(Site(2), "/connect/token"), new StringContent("{]", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);

        // An expired code: its entry says it expired (the store's dates win over the code's own).
        var pkce2 = Pkce.Create();
        var expired = await SignInAsync(Site(0), clientId, email, pkce2, ct);
        await ExpireCodeAsync(expired, ct);
        var late = await RedeemAsync(http, Site(2), clientId, secret, expired, pkce2, ct);
        Assert.Equal("invalid_grant", late.Error);
    }

    [Fact]
    public async Task Client_registration_checks_what_it_is_given()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = Admin(1);
        async Task<HttpStatusCode> PutAsync(string id, ClientRegistration registration) => (await admin.PutAsJsonAsync($"/admin/clients/{id}", registration, ct)).StatusCode;

        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("App", ["http://example.com/cb"])));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("App", ["https://example.com/cb#frag"])));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("App", ["https://*.example.com/cb"])));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("App", ["/relative"])));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("Bad Id!", new ClientRegistration("App", ["https://example.com/cb"])));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("", ["https://example.com/cb"])));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("App", ["https://example.com/cb"], ClientSecret: "short")));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("App", ["https://example.com/cb"], Public: true, ClientCredentials: true)));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync("ok-id", new ClientRegistration("App", ["https://example.com/cb"], Scopes: ["never.registered"])));
        var bad = await admin.PutAsync("/admin/clients/ok-id", new StringContent("{]", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var list = await admin.GetFromJsonAsync<List<ClientView>>("/admin/clients", ct);
        Assert.DoesNotContain(list!, c => c.ClientId == "ok-id");

        using var anonymous = new HttpClient { BaseAddress = Site(1) };
        var refused = await anonymous.PutAsJsonAsync("/admin/clients/x-app", new ClientRegistration("App", ["https://example.com/cb"]), ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        Assert.Equal(HttpStatusCode.OK, await PutAsync("ok-id", new ClientRegistration("App", ["https://example.com/cb", "http://127.0.0.1:5000/cb"], ["https://example.com/"])));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/clients/ok-id", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/admin/clients/ok-id", ct)).StatusCode);
    }

    /// <summary>The OAuth error of an authorization request: at the client's redirect URI, or in the provider's own 400 answer when it may not redirect.</summary>
    private static async Task<string?> ErrorAtAsync(HttpResponseMessage response)
    {
        if (response.Headers.Location is { } location)
        {
            return System.Web.HttpUtility.ParseQueryString(location.Query)["error"];
        }

        var body = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.BadRequest && body.Contains("invalid_request", StringComparison.Ordinal) ? "invalid_request" : $"HTTP {(int)response.StatusCode}: {body}";
    }

    /// <summary>The standard "error" member of a token endpoint answer, whatever its HTTP status (invalid_client may come with 401).</summary>
    private static string? OAuthError(Duende.IdentityModel.Client.ProtocolResponse response) =>
        response.Raw is { Length: > 0 } raw && System.Text.Json.JsonDocument.Parse(raw).RootElement.TryGetProperty("error", out var error) ? error.GetString() : $"HTTP {(int)response.HttpStatusCode}";

    /// <summary>Backdates a code's entry (found by the code itself, which is its reference id) to make it expired.</summary>
    /// <summary>A bucket entry as its leader has it: what was just written at another site may not be at a replica yet.</summary>
    private static async Task<Haetae.Platform.Store.StoredEntry> LeaderEntryAsync(NATS.Client.Core.INatsConnection nats, string bucket, string key, CancellationToken ct) =>
        await Haetae.Platform.Store.DirectReads.GetLastFromLeaderAsync(nats, $"KV_{bucket}", $"$KV.{bucket}.{key}", ct)
        ?? throw new InvalidOperationException($"{key} is not in {bucket}");

    private async Task ExpireCodeAsync(string code, CancellationToken ct)
    {
        await using var nats = await Cluster.ConnectAsync();
        var tokens = await new NatsKVContext(new NatsJSContext(nats)).GetStoreAsync(Assets.LoginTokensBucket, ct);
        Task<Haetae.Platform.Store.StoredEntry> LeaderAsync(string key) => LeaderEntryAsync(nats, Assets.LoginTokensBucket, key, ct);
        // OpenIddict stores a reference id as the Base64 of its SHA-256; the store's index key is the hex SHA-256 of that.
        var stored = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(code)));
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(stored))).ToLowerInvariant();
        var id = System.Text.Json.JsonDocument.Parse((await LeaderAsync($"reference.{hash}")).Data).RootElement.GetProperty("id").GetString();
        var entry = await LeaderAsync($"token.{id}");
        var json = System.Text.Json.Nodes.JsonNode.Parse(entry.Data.Span)!;
        json["expirationDate"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        await tokens.UpdateAsync($"token.{id}", json.ToJsonString(), entry.Sequence, cancellationToken: ct);
    }

    private HttpClient Admin(int site)
    {
        var admin = new HttpClient { BaseAddress = Site(site) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Cluster.Spec.Secrets.AdminKey);
        return admin;
    }

    private async Task<(string ClientId, string Secret)> RegisterAppAsync(CancellationToken ct)
    {
        using var admin = Admin(0);
        var clientId = $"app-{Guid.NewGuid():N}"[..20];
        var registered = await (await admin.PutAsJsonAsync($"/admin/clients/{clientId}", new ClientRegistration("Test app", [RedirectUri.AbsoluteUri], [SignedOutUri.AbsoluteUri]), ct))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<ClientView>(ct);
        return (clientId, registered!.ClientSecret!);
    }

    private async Task<(string Email, string UserId)> NewPersonAsync(string name, CancellationToken ct)
    {
        using var client = ChatTestUsers.ClientAt(Cluster, 0);
        var email = $"{name.ToLowerInvariant()}-{Guid.NewGuid():N}@example.com";
        var user = await client.SignUpAsync(new SignUpRequest(null, email, name, Password), cancellationToken: ct);
        return (email, user.Id);
    }

    private static async Task<string> SignInAsync(Uri site, string clientId, string email, Pkce pkce, CancellationToken ct)
    {
        using var browser = new LoginBrowser();
        var outcome = await browser.AuthorizeAsync(LoginBrowser.AuthorizeUri(site, clientId, RedirectUri, "openid profile offline_access", pkce, "state"), RedirectUri, email, Password, ct);
        Assert.True(outcome.Code is not null, $"no code: {outcome.Error} {outcome.ErrorDescription}");
        return outcome.Code!;
    }

    private static Task<Duende.IdentityModel.Client.TokenResponse> RedeemAsync(HttpClient http, Uri site, string clientId, string secret, string code, Pkce pkce, CancellationToken ct) =>
        http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = new Uri(site, "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = secret,
            Code = code,
            RedirectUri = RedirectUri.AbsoluteUri,
            CodeVerifier = pkce.Verifier,
        }, ct);

    private static Task<Duende.IdentityModel.Client.TokenResponse> RefreshAsync(HttpClient http, Uri site, string clientId, string secret, string refreshToken, CancellationToken ct) =>
        http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = new Uri(site, "/connect/token").AbsoluteUri,
            ClientId = clientId,
            ClientSecret = secret,
            RefreshToken = refreshToken,
        }, ct);

    /// <summary>Validates a token as a third party would: signature against the site's published JWKS, issuer, lifetime, audience.</summary>
    private static async Task<JsonWebToken> ValidateAsync(string token, Uri site, string? audience, CancellationToken ct)
    {
        using var http = new HttpClient();
        var jwks = new JsonWebKeySet(await http.GetStringAsync(new Uri(site, "/.well-known/jwks"), ct));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = audience,
            ValidateAudience = audience is not null,
            IssuerSigningKeys = jwks.GetSigningKeys(),
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        return (JsonWebToken)result.SecurityToken;
    }
}
