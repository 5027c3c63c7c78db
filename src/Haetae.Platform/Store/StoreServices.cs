using Haetae.Platform.Hosting;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Haetae.Platform.Store;

/// <summary>The store kit in a process: one connection to the replicated store, its buckets, and provisioning of the catalog.</summary>
public static class StoreServices
{
    public static IServiceCollection AddHaetaeStore(this IServiceCollection services, NatsSettings nats)
    {
        services.AddSingleton(nats);
        services.AddSingleton<INatsConnection>(_ => new NatsConnection(nats.ToOpts()));
        services.AddSingleton<INatsJSContext>(sp => new NatsJSContext((NatsConnection)sp.GetRequiredService<INatsConnection>()));
        services.AddSingleton<Buckets>();
        services.AddSingleton<Provisioning>();
        services.AddHostedService(sp => sp.GetRequiredService<Provisioning>());
        services.AddHealthChecks().AddCheck<StoreReadyCheck>("store", tags: [HostingDefaults.ReadyTag]);
        return services;
    }
}
