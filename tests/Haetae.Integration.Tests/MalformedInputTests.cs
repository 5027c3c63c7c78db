using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>
/// No input answers 5xx: malformed bodies, ids, query values, request ids and tokens sent to every
/// operation of the OpenAPI document and to every login endpoint, as a stranger, as a signed-in person
/// and as the operator.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class MalformedInputTests(SharedClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    /// <summary>The login provider's endpoints, which the OpenAPI document does not describe.</summary>
    private static readonly (string Method, string Path)[] LoginOperations =
    [
        ("GET", "/login"), ("POST", "/login"),
        ("GET", "/connect/authorize"), ("POST", "/connect/authorize"),
        ("POST", "/connect/token"),
        ("GET", "/connect/userinfo"), ("POST", "/connect/userinfo"),
        ("GET", "/connect/endsession"), ("POST", "/connect/endsession"),
        ("GET", "/.well-known/openid-configuration"), ("GET", "/.well-known/jwks"),
    ];

    private static readonly string[] BadIds = ["x", "..%2F..%2Fetc", "%00", "u0000000000000000000a", new string('a', 2000), "%E2%82", "-1", "null"];

    private static readonly string[] BadQueryValues = ["abc", "-1", "0", "99999999999999999999", "1e9", "", "%00", "%FF%FE"];

    /// <summary>Body text and the content type it is sent with.</summary>
    private static readonly (string? Body, string ContentType)[] BadBodies =
    [
        (null, ""), ("{", "application/json"), ("[]", "application/json"), ("null", "application/json"), ("\"x\"", "application/json"),
        ("{\"text\": 5, \"memberIds\": \"x\", \"sequence\": \"x\", \"userId\": [], \"name\": {}}", "application/json"),
        (new string('[', 5000), "application/json"), ("a=b&c", "application/json"),
        ("login=x&password=y", "text/plain"), ("{\"login\": \"x\"}", "application/x-www-form-urlencoded"),
        ("--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nx", "multipart/form-data; boundary=b"),
        ("--b\r\nbroken", "multipart/form-data"), ("\u0089PNG\r\n", "image/png"),
    ];

    private static readonly string?[] BadRequestIds = [null, "", "not a valid id!", new string('r', 500), "r\u0000"];

    [Fact]
    public async Task No_malformed_request_to_any_operation_answers_5xx()
    {
        var ct = TestContext.Current.CancellationToken;
        using var people = await Scenario.On(Cluster).Person("Fuzz", 0).BuildAsync(ct);
        var signedIn = people["Fuzz"].Client;
        var site = Cluster.Spec.Sites[1].NodeUri;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = site };
        var document = await http.GetFromJsonAsync<JsonElement>("openapi/v1.json", ct);

        var operations = new List<(string Method, string Path, string[] Query)>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var query = operation.Value.TryGetProperty("parameters", out var parameters)
                    ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!).ToArray()
                    : [];
                operations.Add((operation.Name.ToUpperInvariant(), path.Name, query));
            }
        }

        Assert.True(operations.Count >= 30, $"the OpenAPI document names {operations.Count} operations");
        operations.AddRange(LoginOperations.Select(o => (o.Method, o.Path, new[] { "client_id", "redirect_uri", "response_type", "returnUrl", "scope", "prompt", "max_age" })));

        // Who asks: nobody, someone with a token that is not one, a signed-in person, the operator.
        string?[] tokens = [null, "garbage", "a.b.c", signedIn.AccessToken, Cluster.Spec.Secrets.AdminKey];
        var failures = new List<string>();
        var sent = 0;
        // Signing out comes last, so that the person's token works for every other operation.
        foreach (var (method, template, query) in operations.OrderBy(o => o.Path == "/api/sessions/current"))
        {
            // The operator's key really evacuates the site (tested in FireDrillTests); here it is tried without the key only.
            var askers = template.StartsWith("/admin/evacuation", StringComparison.Ordinal) ? tokens.Where(t => t != Cluster.Spec.Secrets.AdminKey).ToArray() : tokens;
            foreach (var request in Variants(method, template, query, askers))
            {
                using (request)
                {
                    using var response = await http.SendAsync(request, ct);
                    sent++;
                    if ((int)response.StatusCode >= 500)
                    {
                        failures.Add($"{method} {request.RequestUri} ({request.Content?.Headers.ContentType}): {(int)response.StatusCode} {Truncate(await response.Content.ReadAsStringAsync(ct))}");
                    }
                }
            }
        }

        Assert.True(sent > 500, $"only {sent} requests were sent");
        Assert.True(failures.Count == 0, $"{failures.Count} of {sent} requests answered 5xx:\n{string.Join('\n', failures.Take(20))}");
    }

    /// <summary>The requests tried on one operation: each varies one thing from a plausible request.</summary>
    private static IEnumerable<HttpRequestMessage> Variants(string method, string template, string[] query, string?[] tokens)
    {
        var plain = Fill(template, "x");
        foreach (var token in tokens)
        {
            foreach (var id in BadIds)
            {
                yield return Request(method, Fill(template, id), token, "r1", null, "");
            }

            foreach (var name in query)
            {
                foreach (var value in BadQueryValues)
                {
                    yield return Request(method, $"{plain}?{name}={value}&{name}=2", token, "r2", null, "");
                }
            }

            if (method is "POST" or "PUT")
            {
                foreach (var (body, type) in BadBodies)
                {
                    yield return Request(method, plain, token, "r3", body, type);
                }

                foreach (var requestId in BadRequestIds)
                {
                    yield return Request(method, plain, token, requestId, "{}", "application/json");
                }
            }
        }
    }

    private static string Fill(string template, string value)
    {
        var path = new StringBuilder();
        var at = 0;
        while (template.IndexOf('{', at) is var open and >= 0)
        {
            var close = template.IndexOf('}', open);
            path.Append(template, at, open - at).Append(value);
            at = close + 1;
        }

        return path.Append(template, at, template.Length - at).ToString().TrimStart('/');
    }

    private static HttpRequestMessage Request(string method, string path, string? token, string? requestId, string? body, string contentType)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {token}");
        }

        if (requestId is not null)
        {
            request.Headers.TryAddWithoutValidation(ChatHeaders.RequestId, requestId);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return request;
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
