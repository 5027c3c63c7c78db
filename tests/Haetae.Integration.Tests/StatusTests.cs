using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Haetae.Client;
using Haetae.Contracts;
using Haetae.Testing;

namespace Haetae.Integration.Tests;

/// <summary>The status page, its JSON and Atom feeds, the incident editor, webhooks and notices, on three real nodes.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class StatusTests(SharedClusterFixture fixture)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(30);

    private TestCluster Cluster => fixture.Cluster;

    private HttpClient Node(int site, bool admin = false)
    {
        var http = new HttpClient { BaseAddress = Cluster.Spec.Sites[site].NodeUri, Timeout = TimeSpan.FromSeconds(20) };
        if (admin)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Cluster.Spec.Secrets.AdminKey);
        }

        return http;
    }

    [Fact]
    public async Task Every_node_serves_the_status_page_in_Korean_and_English_with_its_JSON_uptime_and_Atom_feed()
    {
        var ct = TestContext.Current.CancellationToken;
        var components = Cluster.Spec.Sites.Count * 7;
        for (var site = 0; site < Cluster.Spec.Sites.Count; site++)
        {
            using var http = Node(site);
            var status = await WaitForAsync(
                async () => await http.GetFromJsonAsync<StatusView>("/api/status", HaetaeJson.Options, ct),
                s => s is { Stale: false } && s.Components.Count == components,
                "a fresh status from every node",
                ct);
            Assert.Equal(Cluster.Spec.Sites[site].Name, status!.Site);
            Assert.Equal(["chat", "gifts", "login", "pay", "profiles", "rides", "site"], status.Components.Select(c => c.Service).Distinct().Order(StringComparer.Ordinal));

            var korean = await http.GetAsync("/status?lang=ko", ct);
            Assert.Equal("text/html", korean.Content.Headers.ContentType?.MediaType);
            var page = await korean.Content.ReadAsStringAsync(ct);
            Assert.Contains("<html lang=\"ko\">", page, StringComparison.Ordinal);
            Assert.Contains("구성 요소", page, StringComparison.Ordinal);
            Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
            using var english = new HttpRequestMessage(HttpMethod.Get, "/status");
            english.Headers.AcceptLanguage.ParseAdd("en-US,en;q=0.9");
            Assert.Contains("Uptime, last 90 days", await (await http.SendAsync(english, ct)).Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        using var any = Node(1);
        var uptime = await any.GetFromJsonAsync<List<UptimeView>>("/api/status/uptime?days=90", HaetaeJson.Options, ct);
        Assert.Equal(components, uptime!.Count);
        Assert.All(uptime, u => Assert.Equal(90, u.History.Count));
        var atom = XDocument.Parse(await any.GetStringAsync("/status/feed.atom", ct));
        Assert.Equal("{http://www.w3.org/2005/Atom}feed", atom.Root!.Name.ToString());
    }

    [Fact]
    public async Task An_operators_incident_reaches_devices_and_webhooks_once_per_update_signed_and_retried_and_its_window_is_an_outage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hook = await WebhookReceiver.StartAsync(failFirst: 1, ct);
        using var admin = Node(0, admin: true);
        using var other = Node(2);
        // A 503 says "the store is electing, try again", as clients do (the shared cluster may have just started).
        var subscribed = await WaitForAsync(
            () => other.PostAsJsonAsync("/api/status/subscriptions", new SubscribeRequest(hook.Url), HaetaeJson.Options, ct),
            r => r.StatusCode != HttpStatusCode.ServiceUnavailable,
            "the subscription",
            ct);
        Assert.True(subscribed.StatusCode == HttpStatusCode.Created, await subscribed.Content.ReadAsStringAsync(ct));
        var subscription = (await subscribed.Content.ReadFromJsonAsync<SubscriptionView>(HaetaeJson.Options, ct))!;

        using var people = await Scenario.On(Cluster).Person("Jiwoo", 1).BuildAsync(ct);
        await using var phone = new HaetaeRealtime(people["Jiwoo"].Client);
        await phone.Live.WaitAsync(Phase, ct);
        var site = Cluster.Spec.Sites[0].Name;
        var before = DateTimeOffset.UtcNow;

        var opened = await WaitForAsync(
            () => admin.PostAsJsonAsync("/api/status/incidents", new OpenIncidentRequest("Photos slow", "Photos take long to send.", [$"chat@{site}"], IncidentImpact.Minor), HaetaeJson.Options, ct),
            r => r.StatusCode != HttpStatusCode.ServiceUnavailable,
            "opening the incident",
            ct);
        Assert.True(opened.StatusCode == HttpStatusCode.Created, await opened.Content.ReadAsStringAsync(ct));
        var incident = (await opened.Content.ReadFromJsonAsync<IncidentView>(HaetaeJson.Options, ct))!;
        var banner = await NoticeAsync(phone, n => n.IncidentId == incident.Id && n.Kind == NoticeKind.Incident, "the banner of the incident", ct);
        Assert.Equal("Photos take long to send.", banner.Text);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/status/incidents/{incident.Id}/updates", new IncidentUpdateRequest(IncidentStage.Monitoring, "A fix is out."), HaetaeJson.Options, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/status/incidents/{incident.Id}/updates", new IncidentUpdateRequest(IncidentStage.Resolved, "Fixed."), HaetaeJson.Options, ct)).StatusCode);
        await NoticeAsync(phone, n => n.IncidentId == incident.Id && n.Kind == NoticeKind.Damages, "the notice of how to claim damages", ct);
        var resolved = (await other.GetFromJsonAsync<IncidentView>($"/api/status/incidents/{incident.Id}", HaetaeJson.Options, ct))!;
        Assert.Equal(IncidentStage.Resolved, resolved.Stage);
        Assert.Equal(3, resolved.Updates.Count);
        Assert.NotNull(resolved.End);

        // Every update once to the subscriber, each signed; the first attempt was refused and retried.
        var delivered = await WaitForAsync(
            () => Task.FromResult(hook.Answered2xx(incident.Id)),
            d => d.Count == 3,
            "three webhook deliveries",
            ct);
        Assert.Equal(resolved.Updates.Select(u => u.Id).Order(StringComparer.Ordinal), delivered.Select(d => d.Update.Id).Order(StringComparer.Ordinal));
        Assert.All(hook.Received, r => Assert.True(r.Signature == Sign(subscription.Secret!, r.Timestamp, r.Body), "the signature matches the body"));
        Assert.True(hook.Received.Count(r => r.Payload.Incident.Id == incident.Id) > 3, "the refused first attempt was sent again");
        Assert.Equal(3, hook.Received.Where(r => r.Payload.Incident.Id == incident.Id && r.Answered2xx).Select(r => r.Payload.DeliveryId).Distinct().Count());

        var windows = await other.GetFromJsonAsync<List<OutageWindow>>($"/api/status/outages?service=chat&from={Uri.EscapeDataString(before.AddMinutes(-1).ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}", HaetaeJson.Options, ct);
        Assert.Contains(windows!, w => w.IncidentId == incident.Id && !w.Open);
        var pay = await other.GetFromJsonAsync<List<OutageWindow>>($"/api/status/outages?service=pay&from={Uri.EscapeDataString(before.ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}", HaetaeJson.Options, ct);
        Assert.DoesNotContain(pay!, w => w.IncidentId == incident.Id);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/status/incidents/{incident.Id}/postmortem", new PostmortemRequest("What happened.\n\nWhat we changed."), HaetaeJson.Options, ct)).StatusCode);
        var page = await WaitForAsync(() => other.GetStringAsync($"/status/incidents/{incident.Id}?lang=en", ct), p => p.Contains("What we changed.", StringComparison.Ordinal), "the post-mortem on the page", ct);
        Assert.Contains("id=\"damages\"", page, StringComparison.Ordinal);

        // The regulator's report, as `haetae incidents report ID` writes it.
        await using (var control = await Cluster.ControlAsUpLeavesItAsync(ct))
        {
            var folder = Path.Combine(Cluster.Spec.RootDirectory, "reports");
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(0, await Haetae.Cli.HaetaeCommand.RunAsync(["incidents", "report", incident.Id, "--out", folder, "--home", Cluster.Home], output, error, ct));
            var html = await File.ReadAllTextAsync(Path.Combine(folder, $"incident-{incident.Id}.html"), ct);
            var markdown = await File.ReadAllTextAsync(Path.Combine(folder, $"incident-{incident.Id}.md"), ct);
            Assert.Contains("Operator: A fix is out.", html, StringComparison.Ordinal);
            Assert.Contains("What we changed.", markdown, StringComparison.Ordinal);
            Assert.Contains("## Timeline", markdown, StringComparison.Ordinal);
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(1, await Haetae.Cli.HaetaeCommand.RunAsync(["incidents", "report", "no-such-incident", "--home", Cluster.Home], output, error, ct));
        }

        Assert.Equal(HttpStatusCode.NotFound, (await other.DeleteAsync($"/api/status/subscriptions/{subscription.Id}?secret=wrong", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await other.DeleteAsync($"/api/status/subscriptions/{subscription.Id}?secret={Uri.EscapeDataString(subscription.Secret!)}", ct)).StatusCode);
    }

    [Fact]
    public async Task Maintenance_puts_its_components_under_maintenance_until_it_is_removed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = Node(1, admin: true);
        var component = $"profiles@{Cluster.Spec.Sites[1].Name}";
        var created = await admin.PostAsJsonAsync("/api/status/maintenance", new MaintenanceRequest("Disk swap", DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddHours(1), [component]), HaetaeJson.Options, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var maintenance = (await created.Content.ReadFromJsonAsync<MaintenanceView>(HaetaeJson.Options, ct))!;
        await WaitForAsync(async () => await admin.GetFromJsonAsync<StatusView>("/api/status", HaetaeJson.Options, ct),
            s => s!.Components.Single(c => c.Id == component).State == ComponentState.UnderMaintenance, "the component under maintenance", ct);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/status/maintenance/{maintenance.Id}", ct)).StatusCode);
        await WaitForAsync(async () => await admin.GetFromJsonAsync<StatusView>("/api/status", HaetaeJson.Options, ct),
            s => s!.Components.Single(c => c.Id == component).State != ComponentState.UnderMaintenance, "the maintenance over", ct);
    }

    [Fact]
    public async Task Bad_input_to_the_status_api_gets_a_problem_and_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = Node(0, admin: true);
        using var anonymous = Node(0);
        var before = await admin.GetFromJsonAsync<List<IncidentView>>("/api/status/incidents?limit=1000", HaetaeJson.Options, ct);
        var site = Cluster.Spec.Sites[0].Name;
        var known = before!.FirstOrDefault()?.Id ?? "none";
        (HttpStatusCode, Func<Task<HttpResponseMessage>>)[] calls =
        [
            (HttpStatusCode.Unauthorized, () => anonymous.PostAsJsonAsync("/api/status/incidents", new OpenIncidentRequest("t", "x", [], null), HaetaeJson.Options, ct)),
            (HttpStatusCode.Unauthorized, () => anonymous.GetAsync("/api/status/traffic", ct)),
            (HttpStatusCode.BadRequest, () => admin.PostAsJsonAsync("/api/status/incidents", new OpenIncidentRequest(" ", "x", [], null), HaetaeJson.Options, ct)),
            (HttpStatusCode.BadRequest, () => admin.PostAsJsonAsync("/api/status/incidents", new OpenIncidentRequest("t", "x", ["chat@mars"], null), HaetaeJson.Options, ct)),
            (HttpStatusCode.BadRequest, () => admin.PostAsJsonAsync("/api/status/incidents", new OpenIncidentRequest(new string('t', 201), "x", [], null), HaetaeJson.Options, ct)),
            (HttpStatusCode.NotFound, () => admin.PostAsJsonAsync("/api/status/incidents/nope/updates", new IncidentUpdateRequest(null, "x"), HaetaeJson.Options, ct)),
            (HttpStatusCode.NotFound, () => admin.PostAsJsonAsync("/api/status/incidents/a.*/updates", new IncidentUpdateRequest(null, "x"), HaetaeJson.Options, ct)),
            (HttpStatusCode.BadRequest, () => admin.PostAsJsonAsync($"/api/status/incidents/{known}/updates", new IncidentUpdateRequest(null, ""), HaetaeJson.Options, ct)),
            (HttpStatusCode.NotFound, () => admin.PutAsJsonAsync("/api/status/incidents/nope/postmortem", new PostmortemRequest("x"), HaetaeJson.Options, ct)),
            (HttpStatusCode.BadRequest, () => admin.PostAsJsonAsync($"/api/status/incidents/{known}/writes-lost", new WritesLostRequest("drill", 1, 2), HaetaeJson.Options, ct)),
            (HttpStatusCode.BadRequest, () => admin.PostAsJsonAsync("/api/status/maintenance", new MaintenanceRequest("m", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(-1), [$"chat@{site}"]), HaetaeJson.Options, ct)),
            (HttpStatusCode.BadRequest, () => admin.PostAsJsonAsync("/api/status/maintenance", new MaintenanceRequest("m", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(1), ["nothing"]), HaetaeJson.Options, ct)),
            (HttpStatusCode.NotFound, () => admin.DeleteAsync("/api/status/maintenance/zz", ct)),
            (HttpStatusCode.BadRequest, () => anonymous.PostAsJsonAsync("/api/status/subscriptions", new SubscribeRequest("ftp://example.org/x"), HaetaeJson.Options, ct)),
            (HttpStatusCode.BadRequest, () => anonymous.PostAsJsonAsync("/api/status/subscriptions", new SubscribeRequest("http://user:pw@example.org/x"), HaetaeJson.Options, ct)),
            (HttpStatusCode.NotFound, () => anonymous.DeleteAsync("/api/status/subscriptions/abc?secret=x", ct)),
            (HttpStatusCode.BadRequest, () => anonymous.GetAsync("/api/status/uptime?days=0", ct)),
            (HttpStatusCode.BadRequest, () => anonymous.GetAsync("/api/status/outages?service=chat", ct)),
            (HttpStatusCode.NotFound, () => anonymous.GetAsync("/api/status/incidents/nope", ct)),
            (HttpStatusCode.NotFound, () => anonymous.GetAsync("/status/incidents/nope", ct)),
        ];
        foreach (var (expected, call) in calls)
        {
            using var response = await call();
            Assert.Equal(expected, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var after = await admin.GetFromJsonAsync<List<IncidentView>>("/api/status/incidents?limit=1000", HaetaeJson.Options, ct);
        Assert.Equal(before!.Select(i => (i.Id, i.Updates.Count, i.WritesLost.Count)), after!.Select(i => (i.Id, i.Updates.Count, i.WritesLost.Count)));
    }

    private static string Sign(string secret, long timestamp, byte[] body) =>
        $"t={timestamp},v1={Convert.ToHexStringLower(HMACSHA256.HashData(Convert.FromBase64String(secret), (byte[])[.. Encoding.UTF8.GetBytes($"{timestamp}."), .. body]))}";

    /// <summary>The first notice <paramref name="wanted"/> accepts, from the device's next notice frames.</summary>
    private static async Task<Notice> NoticeAsync(HaetaeRealtime device, Func<Notice, bool> wanted, string phase, CancellationToken ct) =>
        ((NoticeFrame)await DeviceFrames.NextAsync(device, f => f is NoticeFrame { Notices: var notices } && notices.Any(wanted), phase, ct)).Notices.First(wanted);

    /// <summary>Reads again until <paramref name="done"/> holds (the record reaches every node's copy through a watch).</summary>
    private static Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done, string phase, CancellationToken ct) =>
        Eventually.WaitForAsync(phase, Phase, _ => read(), done, ct);

    /// <summary>
    /// A subscriber's endpoint: records every delivery, answers 500 to the first <c>failFirst</c> of each
    /// incident and 200 after (per incident: the shared cluster may deliver another incident's update first).
    /// </summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly CancellationTokenSource _stop = new();
        private int _failFirst;
        private readonly ConcurrentDictionary<string, int> _failed = new(StringComparer.Ordinal);
        private Task _loop = Task.CompletedTask;

        public sealed record Delivery(WebhookPayload Payload, string Signature, long Timestamp, byte[] Body, bool Answered2xx);

        public string Url { get; private set; } = "";

        public ConcurrentQueue<Delivery> Received { get; } = new();

        public static Task<WebhookReceiver> StartAsync(int failFirst, CancellationToken ct)
        {
            var receiver = new WebhookReceiver { _failFirst = failFirst };
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            receiver.Url = $"http://127.0.0.1:{port}/hook/";
            receiver._listener.Prefixes.Add(receiver.Url);
            receiver._listener.Start();
            receiver._loop = Task.Run(receiver.LoopAsync, ct);
            return Task.FromResult(receiver);
        }

        public IReadOnlyList<WebhookPayload> Answered2xx(string incident) =>
            [.. Received.Where(r => r.Answered2xx && r.Payload.Incident.Id == incident).Select(r => r.Payload)];

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync().WaitAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                var signature = context.Request.Headers["Haetae-Signature"] ?? "";
                var timestamp = long.TryParse(signature.Split(',')[0].Replace("t=", "", StringComparison.Ordinal), out var t) ? t : 0;
                var payload = JsonSerializer.Deserialize<WebhookPayload>(body.ToArray(), HaetaeJson.Options)!;
                var ok = _failed.AddOrUpdate(payload.Incident.Id, 1, (_, n) => n + 1) > _failFirst;
                Received.Enqueue(new Delivery(payload, signature, timestamp, body.ToArray(), ok));
                context.Response.StatusCode = ok ? 200 : 500;
                context.Response.Close();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Close();
            await _loop;
            _stop.Dispose();
        }
    }
}
