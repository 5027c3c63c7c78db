using Haetae.Modules;
using Haetae.Node;
using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;
using Haetae.Platform.Store;

// The node's own folder, not the caller's working directory, holds its appsettings.json.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

var node = builder.Configuration.GetSection("Haetae").Get<NodeOptions>() ?? new NodeOptions();
node.Validate();
var nats = builder.Configuration.GetSection("Haetae:Nats").Get<NatsSettings>() ?? new NatsSettings();
nats.ClientName = $"node-{node.Site}";
nats.Validate();

// The services this node runs: each brings its assets, its services and its endpoints.
var modules = PlatformModules.All;

builder.AddHaetaeDefaults();
builder.Services.AddSingleton(node);
builder.Services.AddHaetaeStore(nats);
builder.Services.AddSingleton(PlatformModules.Catalog);
builder.Services.AddSingleton(PlatformModules.Surfaces);
builder.Services.AddSingleton<SiteQuorum>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<SiteQuorum>());
builder.Services.AddSingleton<ISiteFence>(sp => sp.GetRequiredService<SiteQuorum>());
// The node's reading of every site, once a second, for the console and the status page.
builder.Services.AddSingleton<PlatformWatch>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<PlatformWatch>());
// The web app, loaded from one site, calls the others when its site is gone: they allow its origin.
builder.Services.AddCors(o => o.AddDefaultPolicy(p => p
    .WithOrigins([.. node.Sites.Select(s => s.NodeUri.GetLeftPart(UriPartial.Authority))])
    .AllowAnyHeader().AllowAnyMethod()));
builder.Services.AddOpenApi();
foreach (var module in modules)
{
    module.AddServices(builder.Services, builder.Configuration);
}

builder.Services.AddHealthChecks().AddCheck<SiteQuorum>("site-quorum", tags: [HostingDefaults.ReadyTag]);

var app = builder.Build();

app.Use(app.Services.GetRequiredService<Traffic>().CountAsync);
app.UseExceptionHandler();
// A site cut off from the others serves nothing, so that its clients move at once (see SiteQuorum).
app.Use(app.Services.GetRequiredService<SiteQuorum>().FenceAsync);
app.UseStatusCodePages();
app.UseCors();
app.UseDefaultFiles();
app.UseStaticFiles();
foreach (var module in modules)
{
    module.UseMiddleware(app);
}

// A device that stops answering pings for 20 s is gone: its session ends and it resumes when it returns.
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(10), KeepAliveTimeout = TimeSpan.FromSeconds(20) });
app.UseAuthentication();
app.UseAuthorization();

app.MapHealthEndpoints();
app.MapSitesEndpoint();
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
foreach (var module in modules)
{
    module.MapEndpoints(app);
}

await app.RunAsync();
