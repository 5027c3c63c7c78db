using System.Net.Http.Headers;
using System.Net.Http.Json;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;

namespace Haetae.Cluster;

/// <summary>
/// The sample third-party app, "exchange", as the local platform runs it: registered with the login
/// provider through the admin API (its web login, its phone app, and the API scope its tokens carry),
/// then started as its own process on its own address, outside every site.
/// </summary>
public sealed class ExchangeApp(PlatformSpec spec, Action<string> log)
{
    /// <summary>The issuer every site's tokens name (the login provider's default).</summary>
    public const string Issuer = "https://login.haetae.local/";

    /// <summary>The exchange's web login: a confidential client.</summary>
    public const string WebClientId = "exchange";

    /// <summary>The exchange's phone app: a public client with PKCE and a loopback redirect, as native apps use.</summary>
    public const string AppClientId = "exchange-app";

    public const string ApiScope = "exchange.api";
    public const string ApiAudience = "exchange";

    public static readonly Uri AppRedirectUri = new("http://127.0.0.1:7/exchange-app/callback");

    private readonly SampleProcess _process = new("exchange", BuiltPrograms.Exchange(), spec.ExchangeUri, spec.LogDirectory, log);

    public Uri Uri => spec.ExchangeUri;

    public string KeyCacheFile => Path.Combine(spec.ExchangeDirectory, "provider-keys.json");

    public bool IsRunning => _process.IsRunning;

    /// <summary>Registers the exchange's clients and API scope at the first site that answers (idempotent: PUT).</summary>
    public async Task RegisterAsync(CancellationToken cancellationToken)
    {
        Exception? last = null;
        foreach (var site in spec.Sites)
        {
            try
            {
                using var admin = new HttpClient { BaseAddress = site.NodeUri, Timeout = TimeSpan.FromSeconds(20) };
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", spec.Secrets.AdminKey);
                (await admin.PutAsJsonAsync($"/admin/scopes/{ApiScope}", new ScopeRegistration("Exchange API · 거래소 API", ApiAudience), cancellationToken)).EnsureSuccessStatusCode();
                (await admin.PutAsJsonAsync($"/admin/clients/{WebClientId}", new ClientRegistration(
                    "Exchange · 거래소", [new Uri(Uri, "signin-oidc").AbsoluteUri], [new Uri(Uri, "signout-callback-oidc").AbsoluteUri],
                    Scopes: [ApiScope], ClientSecret: spec.Secrets.ExchangeSecret), cancellationToken)).EnsureSuccessStatusCode();
                (await admin.PutAsJsonAsync($"/admin/clients/{AppClientId}", new ClientRegistration(
                    "Exchange app · 거래소 앱", [AppRedirectUri.AbsoluteUri], Public: true, Scopes: [ApiScope]), cancellationToken)).EnsureSuccessStatusCode();
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = e;
            }
        }

        throw new PlatformException($"no site accepted the exchange's registration: {last?.Message}", last);
    }

    /// <summary>Starts the exchange and waits until it answers /healthz (which never depends on the provider).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(spec.ExchangeDirectory);
        var environment = new Dictionary<string, string>
        {
            ["Exchange__Issuer"] = Issuer,
            ["Exchange__ClientId"] = WebClientId,
            ["Exchange__ClientSecret"] = spec.Secrets.ExchangeSecret,
            ["Exchange__Audience"] = ApiAudience,
            ["Exchange__KeyCacheFile"] = KeyCacheFile,
        };
        for (var i = 0; i < spec.Sites.Count; i++)
        {
            environment[$"Exchange__Authorities__{i}"] = spec.Sites[i].NodeUri.ToString();
        }

        return _process.StartAsync(environment, cancellationToken);
    }

    public Task StopAsync(TimeSpan grace) => _process.StopAsync(grace);
}
