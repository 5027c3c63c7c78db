using Haetae.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Platform;

/// <summary>
/// One service of the platform (chat, login, the console, and pay, gifts, rides next). A module brings
/// its replicated assets, its services and its endpoints; the node composes the modules and nothing
/// else. Adding a service is one project with one of these, and one line in the node's module list.
/// </summary>
public interface IHaetaeModule
{
    /// <summary>Short lower-case name (the OpenAPI tag, logs).</summary>
    string Name { get; }

    /// <summary>The streams, buckets and object stores this module keeps; every node provisions the union of all modules'.</summary>
    IReadOnlyList<Asset> Assets { get; }

    /// <summary>The services people use that this module serves (the status page shows each at every site); none for the kit's own parts.</summary>
    IReadOnlyList<ServiceSurface> Surfaces => [];

    void AddServices(IServiceCollection services, IConfiguration configuration);

    void MapEndpoints(IEndpointRouteBuilder app);

    /// <summary>Middleware the module needs before authentication (most need none).</summary>
    void UseMiddleware(IApplicationBuilder app)
    {
    }
}

/// <summary>
/// The replicated assets of the platform's modules: what provisioning creates, and what status and a
/// rebuild count before they call the platform fully replicated.
/// </summary>
public sealed class AssetCatalog
{
    private AssetCatalog(IReadOnlyList<Asset> all) => All = all;

    public IReadOnlyList<Asset> All { get; }

    /// <summary>The union of the modules' assets. Two modules may not keep one stream: each asset has one owner that decides its shape.</summary>
    public static AssetCatalog Of(IEnumerable<IHaetaeModule> modules)
    {
        var owned = modules.SelectMany(m => m.Assets.Select(a => (Module: m.Name, Asset: a))).ToList();
        var shared = owned.GroupBy(o => o.Asset.StreamName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (shared is not null)
        {
            throw new InvalidOperationException($"Modules {string.Join(" and ", shared.Select(o => o.Module))} both keep stream {shared.Key}: one module owns each asset.");
        }

        return new AssetCatalog([.. owned.Select(o => o.Asset)]);
    }
}
