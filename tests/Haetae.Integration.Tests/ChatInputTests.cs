using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>Bad input and other people's data: a clear 4xx ProblemDetails, nothing stored, never a 5xx.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ChatInputTests(SharedClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Bad_requests_get_problem_details_and_store_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var chat = people.Chats[0];
        await alice.Chat.SendTextAsync(chat.Id, "first", cancellationToken: ct);
        using var http = new HttpClient { BaseAddress = Cluster.Spec.Sites[2].NodeUri };
        var messages = $"api/chats/{chat.Id}/messages";

        await ExpectProblemAsync(http, HttpMethod.Post, messages, alice.AccessToken, "{\"text\": ", "r1", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, messages, alice.AccessToken, "{\"text\": \"   \"}", "r2", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, messages, alice.AccessToken, "{}", "r3", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, messages, alice.AccessToken, JsonSerializer.Serialize(new { text = new string('가', 5462) }), "r4", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, messages, alice.AccessToken, "{\"text\": \"no request id\"}", null, HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, messages, alice.AccessToken, "{\"text\": \"bad id\"}", "not a valid id!", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, messages, alice.AccessToken, "{\"photoId\": \"p0000000000000000000a\"}", "r5", HttpStatusCode.NotFound, ct);
        await ExpectProblemAsync(http, HttpMethod.Get, $"{messages}?limit=0", alice.AccessToken, null, null, HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Get, $"{messages}?after=1&before=3", alice.AccessToken, null, null, HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Get, $"{messages}?after=abc", alice.AccessToken, null, null, HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, $"api/chats/{chat.Id}/read", alice.AccessToken, "{\"sequence\": 99}", null, HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Get, "api/chats/d0000000000000000000a/messages", alice.AccessToken, null, null, HttpStatusCode.NotFound, ct);
        await ExpectProblemAsync(http, HttpMethod.Get, "api/chats/..%2F..%2Fetc/messages", alice.AccessToken, null, null, HttpStatusCode.NotFound, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/chats", alice.AccessToken, "{\"memberIds\": [\"u0000000000000000000a\"]}", "r6", HttpStatusCode.NotFound, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/chats", alice.AccessToken, "{\"memberIds\": []}", "r7", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/friends", alice.AccessToken, "{\"userId\": \"x\", \"email\": \"y@z.io\"}", null, HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/photos", alice.AccessToken, "not an image", "r8", HttpStatusCode.UnsupportedMediaType, ct);
        using (var tooLarge = new HttpRequestMessage(HttpMethod.Post, "api/photos"))
        {
            tooLarge.Headers.Authorization = new AuthenticationHeaderValue("Bearer", alice.AccessToken);
            tooLarge.Headers.Add(ChatHeaders.RequestId, "r9");
            tooLarge.Content = new ByteArrayContent(new byte[(10 * 1024 * 1024) + 1]) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } };
            using var refused = await http.SendAsync(tooLarge, ct);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(1, (await bob.Chat.GetMessagesAsync(chat.Id, cancellationToken: ct)).LastSequence);
    }

    [Fact]
    public async Task Tokens_are_checked_on_every_endpoint()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = Cluster.Spec.Sites[0].NodeUri };
        using var people = await Scenario.On(Cluster).Person("Alice", 0).BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var tampered = alice.AccessToken![..^4] + (alice.AccessToken[^4..] == "AAAA" ? "BBBB" : "AAAA");

        foreach (var token in new string?[] { null, "not-a-jwt", tampered })
        {
            foreach (var path in new[] { "api/me", "api/chats", "api/friends", "api/photos/p0000000000000000000a" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                if (token is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                using var response = await http.SendAsync(request, ct);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }
        }
    }

    [Fact]
    public async Task An_expired_token_and_a_token_signed_by_an_unknown_key_are_refused_at_every_site()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).BuildAsync(ct);
        var (alice, aliceUser) = people["Alice"];

        // The platform's own current key, read from the replicated bucket as any node does.
        await using var connection = await Cluster.ConnectAsync();
        var keys = await new NATS.Client.KeyValueStore.NatsKVContext(new NATS.Client.JetStream.NatsJSContext(connection)).GetStoreAsync(Assets.SigningKeysBucket, ct);
        var ring = JsonSerializer.Deserialize<Haetae.Platform.Identity.KeySet>(
            (await keys.GetEntryAsync<byte[]>(Haetae.Platform.Identity.KeyRing.EntryKey.Name, cancellationToken: ct)).Value!, HaetaeJson.Options)!;
        var current = Haetae.Platform.Identity.KeyRotation.InUseOrder(ring, Haetae.Platform.Identity.KeyUse.Signing, DateTimeOffset.UtcNow)[0];
        var kid = current.Kid;
        using var platformKey = System.Security.Cryptography.ECDsa.Create();
        platformKey.ImportPkcs8PrivateKey(Convert.FromBase64String(current.Material), out _);
        using var strangerKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);

        string Token(System.Security.Cryptography.ECDsa key, DateTime expires) => new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(
            new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
            {
                Issuer = "haetae",
                Audience = "haetae",
                Claims = new Dictionary<string, object> { ["sub"] = aliceUser.Id, ["sid"] = "test-session" },
                IssuedAt = expires.AddHours(-1),
                NotBefore = expires.AddHours(-1),
                Expires = expires,
                SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                    new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(key) { KeyId = kid }, "ES256"),
            });

        var valid = Token(platformKey, DateTime.UtcNow.AddMinutes(10));
        var expired = Token(platformKey, DateTime.UtcNow.AddMinutes(-5));
        var forged = Token(strangerKey, DateTime.UtcNow.AddMinutes(10));
        foreach (var site in Cluster.Spec.Sites)
        {
            using var http = new HttpClient { BaseAddress = site.NodeUri };
            foreach (var (token, expected) in new[] { (valid, HttpStatusCode.OK), (expired, HttpStatusCode.Unauthorized), (forged, HttpStatusCode.Unauthorized) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "api/me");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await http.SendAsync(request, ct);
                Assert.Equal(expected, response.StatusCode);
            }
        }
    }

    [Fact]
    public async Task Another_users_chat_and_photos_stay_hidden()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Person("Eve", 2).Chat("Alice", "Bob").BuildAsync(ct);
        var (alice, _) = people["Alice"];
        var (bob, bobUser) = people["Bob"];
        var (eve, _) = people["Eve"];
        var chat = people.Chats[0];
        await alice.Chat.SendTextAsync(chat.Id, "secret", cancellationToken: ct);
        using var http = new HttpClient { BaseAddress = Cluster.Spec.Sites[2].NodeUri };

        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, $"api/chats/{chat.Id}", null),
            (HttpMethod.Get, $"api/chats/{chat.Id}/messages", null),
            (HttpMethod.Get, $"api/chats/{chat.Id}/receipts", null),
            (HttpMethod.Post, $"api/chats/{chat.Id}/messages", "{\"text\": \"let me in\"}"),
            (HttpMethod.Post, $"api/chats/{chat.Id}/read", "{\"sequence\": 1}"),
            (HttpMethod.Post, $"api/chats/{chat.Id}/members", "{\"userIds\": [\"" + bobUser.Id + "\"]}"),
        })
        {
            var text = await ExpectProblemAsync(http, method, path, eve.AccessToken, body, "eve-" + Guid.NewGuid().ToString("N"), HttpStatusCode.NotFound, ct);
            Assert.DoesNotContain("secret", text, StringComparison.Ordinal);
        }

        Assert.Empty(await eve.Chat.ListAsync(ct));
        Assert.Equal(1, (await bob.Chat.GetMessagesAsync(chat.Id, cancellationToken: ct)).LastSequence);
    }

    [Fact]
    public async Task Sign_up_and_sign_in_refuse_bad_input_with_problem_details()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = Cluster.Spec.Sites[1].NodeUri };
        var email = $"dup-{Guid.NewGuid():N}@example.com";

        await ExpectProblemAsync(http, HttpMethod.Post, "api/accounts", null, JsonSerializer.Serialize(new SignUpRequest(null, email, "Dup", "long enough")), "s1", HttpStatusCode.Created, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/accounts", null, JsonSerializer.Serialize(new SignUpRequest(null, email.ToUpperInvariant(), "Other", "long enough")), "s2", HttpStatusCode.Conflict, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/accounts", null, JsonSerializer.Serialize(new SignUpRequest(null, "x@example.com", "Short", "short")), "s3", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/accounts", null, JsonSerializer.Serialize(new SignUpRequest("12", null, "Phone", "long enough")), "s4", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/accounts", null, JsonSerializer.Serialize(new SignUpRequest(null, null, "Nobody", "long enough")), "s5", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/accounts", null, "[1,2", "s6", HttpStatusCode.BadRequest, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/sessions", null, JsonSerializer.Serialize(new SignInRequest(email, "wrong password")), null, HttpStatusCode.Unauthorized, ct);
        await ExpectProblemAsync(http, HttpMethod.Post, "api/sessions", null, JsonSerializer.Serialize(new SignInRequest("nobody@example.com", "long enough")), null, HttpStatusCode.Unauthorized, ct);
    }

    [Fact]
    public async Task The_limits_the_node_publishes_are_the_ones_it_enforces()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);
        var alice = people["Alice"].Client;
        using var http = new HttpClient { BaseAddress = Cluster.Spec.Sites[1].NodeUri };
        var limits = await http.GetFromJsonAsync<Limits>("api/limits", HaetaeJson.Options, ct);

        Assert.NotNull(limits);
        var longest = new string('a', limits.MessageTextBytes);
        Assert.Equal(longest, (await alice.Chat.SendTextAsync(people.Chats[0].Id, longest, cancellationToken: ct)).Text);
        var refused = await Assert.ThrowsAsync<Haetae.Client.HaetaeApiException>(() => alice.Chat.SendTextAsync(people.Chats[0].Id, longest + "a", cancellationToken: ct));
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("image/png", limits.PhotoTypes);
        Assert.Equal(8, limits.PasswordMinLength);
    }

    [Fact]
    public async Task Every_node_serves_the_OpenAPI_document_of_the_chat_api()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient();
        foreach (var site in Cluster.Spec.Sites)
        {
            var document = await http.GetFromJsonAsync<JsonElement>(new Uri(site.NodeUri, "openapi/v1.json"), ct);
            var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

            Assert.Contains("/api/chats/{chatId}/messages", paths);
            Assert.Contains("/api/accounts", paths);
            Assert.Contains("/api/photos/{photoId}", paths);

            // Every operation declares its refusals as ProblemDetails.
            var send = document.GetProperty("paths").GetProperty("/api/chats/{chatId}/messages").GetProperty("post").GetProperty("responses");
            foreach (var status in new[] { "400", "401", "403", "404", "503" })
            {
                Assert.True(send.GetProperty(status).GetProperty("content").TryGetProperty("application/problem+json", out _), $"POST messages declares {status} as problem+json");
            }
        }
    }

    /// <summary>Sends a request and asserts its status; a 4xx must come as ProblemDetails. Returns the body.</summary>
    private static async Task<string> ExpectProblemAsync(
        HttpClient http, HttpMethod method, string path, string? token, string? body, string? requestId, HttpStatusCode expected, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (requestId is not null)
        {
            request.Headers.Add(ChatHeaders.RequestId, requestId);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, path.EndsWith("photos", StringComparison.Ordinal) ? "text/plain" : "application/json");
        }

        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(expected == response.StatusCode, $"{method} {path}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        if ((int)expected >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        return text;
    }
}
