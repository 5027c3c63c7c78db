using Haetae.Contracts;
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

    void AddServices(IServiceCollection services, IConfiguration configuration);

    void MapEndpoints(IEndpointRouteBuilder app);
}

/// <summary>The replicated assets of the modules a process runs: what provisioning creates.</summary>
public sealed class AssetCatalog(IEnumerable<Asset> assets)
{
    public IReadOnlyList<Asset> All { get; } = [.. assets.DistinctBy(a => a.StreamName)];

    public static AssetCatalog Of(IEnumerable<IHaetaeModule> modules) => new(modules.SelectMany(m => m.Assets));
}
