using System.Net.Http.Headers;
using System.Net.Http.Json;
using Duende.IdentityModel.Client;
using Haetae.Contracts;
using Haetae.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Haetae.Drill.Tests;

/// <summary>The token keys rotating for real, on a platform whose keys rotate every 20 s instead of every 30 days.</summary>
public sealed class LoginKeyRotationTests
{
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_new_key_is_in_every_sites_jwks_before_it_signs_and_the_old_one_stays_while_its_tokens_live()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await TestCluster.StartAsync(withNodes: true, cancellationToken: ct, nodeSettings: new Dictionary<string, string>
        {
            ["Haetae__Keys__RotateEvery"] = "00:00:20",
            ["Haetae__Keys__PublishAhead"] = "00:00:08",
            ["Haetae__Keys__KeepRetired"] = "00:01:00",
        });
        var sites = cluster.Spec.Sites.Select(s => s.NodeUri).ToList();
        using var admin = new HttpClient { BaseAddress = sites[0] };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cluster.Spec.Secrets.AdminKey);
        (await admin.PutAsJsonAsync("/admin/scopes/rotation.api", new ScopeRegistration("Rotation", "rotation"), ct)).EnsureSuccessStatusCode();
        var client = await (await admin.PutAsJsonAsync("/admin/clients/rotation-job", new ClientRegistration("Job", Scopes: ["rotation.api"], ClientCredentials: true), ct))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<ClientView>(ct);

        // One key ring signs every token: the API's access token is signed by a key of the login provider's JWKS.
        using var people = await Scenario.On(cluster).Person("Alice", 0).BuildAsync(ct);
        var appToken = people["Alice"].Client.AccessToken!;
        var appKid = new JsonWebToken(appToken).Kid;

        using var http = new HttpClient();
        // Every site's JWKS as last seen, and for each key id the first moment any site published it.
        var published = new Dictionary<string, DateTimeOffset>();
        var tokens = new List<(string Kid, DateTimeOffset IssuedBy, string Token)>();
        var signers = await Eventually.WaitForAsync("two different keys have signed tokens", PhaseTimeout, async t =>
        {
            foreach (var site in sites)
            {
                var jwks = new JsonWebKeySet(await http.GetStringAsync(new Uri(site, "/.well-known/jwks"), t));
                foreach (var key in jwks.Keys)
                {
                    published.TryAdd(key.Kid, DateTimeOffset.UtcNow);
                }
            }

            var site0 = sites[tokens.Count % sites.Count];
            var response = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
            {
                Address = new Uri(site0, "/connect/token").AbsoluteUri,
                ClientId = "rotation-job",
                ClientSecret = client!.ClientSecret,
                Scope = "rotation.api",
            }, t);
            Assert.False(response.IsError, response.Error);
            tokens.Add((new JsonWebToken(response.AccessToken).Kid, DateTimeOffset.UtcNow, response.AccessToken!));
            return tokens.Select(x => x.Kid).Distinct().ToList();
        }, kids => kids.Count >= 2, ct);

        // Each key was published (seen in a JWKS) before the first token it signed was issued: the first key from the start,
        // every later one at least the lead time before it signed.
        foreach (var kid in signers.Skip(1))
        {
            var firstSigned = tokens.First(x => x.Kid == kid).IssuedBy;
            Assert.True(published.TryGetValue(kid, out var seen) && firstSigned - seen >= TimeSpan.FromSeconds(5),
                $"key {kid} signed at {firstSigned:O} but was first seen in a JWKS at {(published.TryGetValue(kid, out var s) ? s.ToString("O") : "never")}");
        }

        // The key that signed first is still published, so a token it signed still validates at every site.
        var oldest = tokens.First();
        foreach (var site in sites)
        {
            var jwks = new JsonWebKeySet(await http.GetStringAsync(new Uri(site, "/.well-known/jwks"), ct));
            Assert.Contains(jwks.Keys, k => k.Kid == oldest.Kid);
            var valid = await new JsonWebTokenHandler().ValidateTokenAsync(oldest.Token, new TokenValidationParameters
            {
                ValidIssuer = "https://login.haetae.local/",
                ValidAudience = "rotation",
                IssuerSigningKeys = jwks.GetSigningKeys(),
            });
            Assert.True(valid.IsValid, valid.Exception?.Message);
            Assert.Contains(jwks.Keys, k => k.Kid == appKid);

            // The API's token from before the rotation is still taken at every site.
            using var me = new HttpRequestMessage(HttpMethod.Get, new Uri(site, "/api/me"));
            me.Headers.Authorization = new AuthenticationHeaderValue("Bearer", appToken);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(me, ct)).StatusCode);
        }
    }
}
