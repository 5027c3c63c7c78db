using Haetae.Chat;
using Haetae.Login;
using Haetae.Node;
using Haetae.Store;
using NATS.Client.Core;
using NATS.Client.JetStream;

// The node's own folder, not the caller's working directory, holds its appsettings.json.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

var node = builder.Configuration.GetSection("Haetae").Get<NodeOptions>() ?? new NodeOptions();
node.Validate();
var nats = builder.Configuration.GetSection("Haetae:Nats").Get<NatsSettings>() ?? new NatsSettings();
nats.ClientName = $"node-{node.Site}";
nats.Validate();

builder.Services.AddSingleton(node);
builder.Services.AddSingleton(nats);
builder.Services.AddSingleton<SiteQuorum>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<SiteQuorum>());
builder.Services.AddSingleton<INatsConnection>(_ => new NatsConnection(nats.ToOpts()));
builder.Services.AddSingleton<INatsJSContext>(sp => new NatsJSContext((NatsConnection)sp.GetRequiredService<INatsConnection>()));
builder.Services.AddSingleton<Provisioning>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<Provisioning>());
builder.Services.AddSingleton<RequestCounters>();
builder.Services.AddSingleton<ConsoleWatch>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<ConsoleWatch>());
// The web app, loaded from one site, calls the others when its site is gone: they allow its origin.
builder.Services.AddCors(o => o.AddDefaultPolicy(p => p
    .WithOrigins([.. node.Sites.Select(s => s.NodeUri.GetLeftPart(UriPartial.Authority))])
    .AllowAnyHeader().AllowAnyMethod()));
builder.Services.AddProblemDetails();
builder.Services.AddOpenApi();
builder.Services.AddChat();
builder.Services.AddLogin(builder.Configuration);
builder.Services.AddHealthChecks()
    .AddCheck<StoreReadyCheck>("store", tags: ["ready"])
    .AddCheck<SiteQuorum>("site-quorum", tags: ["ready"]);

var app = builder.Build();

app.Use(app.Services.GetRequiredService<RequestCounters>().CountAsync);
app.UseExceptionHandler();
// A site cut off from the others serves nothing, so that its clients move at once (see SiteQuorum).
app.Use(app.Services.GetRequiredService<SiteQuorum>().FenceAsync);
app.UseStatusCodePages();
app.UseCors();
app.UseDefaultFiles();
app.UseStaticFiles();
// Login requests (and OpenIddict's request filter, which sees every request) need the login keys.
app.Use(LoginProvider.WaitForKeysAsync);
// A device that stops answering pings for 20 s is gone: its session ends and it resumes when it returns.
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(10), KeepAliveTimeout = TimeSpan.FromSeconds(20) });
app.UseAuthentication();
app.UseAuthorization();

// Liveness: the process answers. Readiness: it can serve (store connected, JetStream answering, assets provisioned).
app.MapHealthChecks("/healthz", new() { Predicate = _ => false });
app.MapHealthChecks("/readyz", new() { Predicate = check => check.Tags.Contains("ready") });
app.MapConsoleApi();
// A fire alarm: the operator evacuates this site (PUT), or calls it off (DELETE).
var evacuation = app.MapGroup(SiteQuorum.EvacuationPath).AddEndpointFilter(AdminKey.RequireAsync).DisableAntiforgery();
evacuation.MapPut("", (SiteQuorum quorum) =>
{
    quorum.Evacuate();
    return TypedResults.Accepted((string?)null, new { evacuating = true });
});
evacuation.MapDelete("", (SiteQuorum quorum) =>
{
    quorum.Return();
    return TypedResults.Ok(new { evacuating = false });
});
app.MapOpenApi();
app.MapChatApi();
app.MapLogin();

await app.RunAsync();
