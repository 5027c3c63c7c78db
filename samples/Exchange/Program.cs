using Exchange;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;

// The app's own folder, not the caller's working directory, holds its appsettings.json.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

// Checked before anything starts: a wrong issuer or a missing secret is a deployment error, not an outage.
var exchange = builder.Configuration.GetSection(ExchangeOptions.SectionName).Get<ExchangeOptions>() ?? new ExchangeOptions();
exchange.Validate();

builder.Services.AddSingleton(exchange);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(new KeyCacheFile(exchange.KeyCacheFile));
builder.Services.AddSingleton<ProviderSites>();
builder.Services.AddSingleton<MultiSiteConfigurationManager>();
builder.Services.AddHostedService<ProviderWatch>();
// Requests to the provider that a dead site does not answer are resent to the next site (SiteFailoverHandler):
// the configuration fetches, and the back channel (code redemption, userinfo, token refresh). Per-site deadlines
// are set by the manager and the handler; the client timeouts only bound a request that somehow escapes them.
builder.Services.AddTransient<SiteFailoverHandler>();
builder.Services.AddHttpClient(MultiSiteConfigurationManager.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10))
    .ConfigurePrimaryHttpMessageHandler(SiteFailoverHandler.CreatePrimaryHandler)
    .AddHttpMessageHandler<SiteFailoverHandler>();
builder.Services.AddHttpClient(SiteFailoverHandler.BackchannelClientName, http =>
    {
        http.Timeout = SiteFailoverHandler.ClientTimeout;
        // What the OpenID Connect handler sets on the back channel it would create itself.
        http.MaxResponseContentBufferSize = 10 * 1024 * 1024;
    })
    .ConfigurePrimaryHttpMessageHandler(SiteFailoverHandler.CreatePrimaryHandler)
    .AddHttpMessageHandler<SiteFailoverHandler>();
// The probe asks about one site and bounds itself (SiteProbe.Timeout): no failover handler.
builder.Services.AddHttpClient(SiteProbe.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));
builder.Services.AddHttpClient(AccountApiClient.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));
builder.Services.AddSingleton<AccountApiClient>();
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProviderUnavailableHandler>();
builder.Services.AddAntiforgery();

builder.Services
    .AddAuthentication(options =>
    {
        // Pages use the sign-in cookie; a page that needs a user sends the browser to the provider.
        options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
    })
    .AddCookie(options =>
    {
        // Cookies are not separated by port: other apps on the same loopback address must not overwrite this one.
        options.Cookie.Name = "exchange.session";
        options.Cookie.HttpOnly = true;
        options.Cookie.SameSite = SameSiteMode.Lax;
        options.LoginPath = "/login";
    })
    .AddOpenIdConnect(options =>
    {
        options.ClientId = exchange.ClientId;
        options.ClientSecret = exchange.ClientSecret;
        options.ResponseType = "code";
        options.UsePkce = true;
        options.SaveTokens = true;
        options.GetClaimsFromUserInfoEndpoint = true;
        options.MapInboundClaims = false;
        options.Scope.Clear();
        foreach (var scope in (string[])["openid", "profile", "offline_access", AccountApi.Scope])
        {
            options.Scope.Add(scope);
        }

        options.CallbackPath = "/signin-oidc";
        options.SignedOutCallbackPath = "/signout-callback-oidc";
        options.SignedOutRedirectUri = "/";
        // The local sites serve plain http on loopback addresses.
        options.RequireHttpsMetadata = false;
        options.TokenValidationParameters.ValidIssuer = exchange.Issuer;
        options.TokenValidationParameters.NameClaimType = "name";
        options.TokenValidationParameters.RoleClaimType = "role";

        // The default form_post answer is a cross-site POST, which carries only SameSite=None cookies, and
        // browsers accept those only as Secure, i.e. over https. On plain http loopback the answer comes as a
        // top-level GET instead (response_mode=query), which carries SameSite=Lax cookies. Over https the
        // correlation and nonce cookies are still marked Secure (SameAsRequest).
        options.ResponseMode = "query";
        options.CorrelationCookie.SameSite = SameSiteMode.Lax;
        options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.NonceCookie.SameSite = SameSiteMode.Lax;
        options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;

        options.Events.OnRemoteFailure = context =>
        {
            // An unreachable provider is answered with 503 by ProviderUnavailableHandler; anything else (the
            // user declined, a stale or replayed callback) gets a page instead of an exception.
            if (context.Failure is ProviderUnavailableException || context.Failure?.InnerException is ProviderUnavailableException)
            {
                return Task.CompletedTask;
            }

            context.HandleResponse();
            return Html.Page(
                "Sign-in failed",
                """
                <p role="alert">Signing in with Haetae did not complete. <span lang="ko">로그인하지 못했습니다.</span></p>
                <p><a href="/login">Try again</a> or go <a href="/">home</a>.</p>
                """,
                StatusCodes.Status400BadRequest).ExecuteAsync(context.HttpContext);
        };
    })
    .AddJwtBearer(options =>
    {
        options.Audience = exchange.Audience;
        options.MapInboundClaims = false;
        options.RequireHttpsMetadata = false;
        options.TokenValidationParameters.ValidAudience = exchange.Audience;
        options.TokenValidationParameters.ValidIssuer = exchange.Issuer;
        // Access tokens only (RFC 9068): an ID token of the same issuer must not open the API.
        options.TokenValidationParameters.ValidTypes = ["at+jwt"];
        options.TokenValidationParameters.NameClaimType = "name";
    });

// Both handlers read the provider through one manager (one set of keys, one fetch for both). It is set
// here rather than above because it is a DI service; nothing here fetches anything.
builder.Services.AddOptions<OpenIdConnectOptions>(OpenIdConnectDefaults.AuthenticationScheme)
    .Configure<MultiSiteConfigurationManager, IHttpClientFactory>((options, provider, httpClients) =>
    {
        options.ConfigurationManager = provider;
        // Code redemption and userinfo go through SiteFailoverHandler: a site that burns between sending the
        // browser away and its return does not fail the sign-in.
        options.Backchannel = httpClients.CreateClient(SiteFailoverHandler.BackchannelClientName);

        // The handler read the configuration a moment before these events; the watch may have switched sites
        // since. The browser must go to the site in use now, so each endpoint is taken again at the last moment.
        options.Events.OnRedirectToIdentityProvider = context =>
        {
            if (provider.Current?.AuthorizationEndpoint is { Length: > 0 } endpoint)
            {
                context.ProtocolMessage.IssuerAddress = endpoint;
            }

            return Task.CompletedTask;
        };
        options.Events.OnRedirectToIdentityProviderForSignOut = context =>
        {
            if (provider.Current?.EndSessionEndpoint is { Length: > 0 } endpoint)
            {
                context.ProtocolMessage.IssuerAddress = endpoint;
            }

            return Task.CompletedTask;
        };
        // The callback read its configuration when it arrived; a code is valid at every site, so it is redeemed
        // at the current one (and SiteFailoverHandler resends it if that one has just burned too).
        options.Events.OnAuthorizationCodeReceived = context =>
        {
            if (context.TokenEndpointRequest is { } request && provider.Current?.TokenEndpoint is { Length: > 0 } endpoint)
            {
                request.TokenEndpoint = endpoint;
            }

            return Task.CompletedTask;
        };
    });
builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
    .Configure<MultiSiteConfigurationManager>((options, provider) => options.ConfigurationManager = provider);

builder.Services.AddAuthorizationBuilder().AddPolicy(AccountApi.PolicyName, AccountApi.AddPolicy);

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/healthz", () => TypedResults.Text("ok"));
app.MapWebPages();
app.MapAccountApi();

await app.RunAsync();
