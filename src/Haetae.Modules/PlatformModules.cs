using Haetae.Chat;
using Haetae.Gifts;
using Haetae.Login;
using Haetae.Operations;
using Haetae.Pay;
using Haetae.Platform;
using Haetae.Platform.Identity;
using Haetae.Rides;
using Haetae.Status;

namespace Haetae.Modules;

/// <summary>
/// The services the platform runs, in one list: the node hosts them, and `haetae status`, the console and
/// a rebuild judge "fully replicated" by their assets. Adding a service is one line here.
/// </summary>
public static class PlatformModules
{
    public static IReadOnlyList<IHaetaeModule> All { get; } = [new IdentityModule(), new ChatModule(), new LoginModule(), new ConsoleModule(), new PayModule(), new GiftsModule(), new RidesModule(), new StatusModule()];

    /// <summary>Every module's streams, buckets and object stores: what every node provisions.</summary>
    public static AssetCatalog Catalog { get; } = AssetCatalog.Of(All);

    /// <summary>The services people use, as the status page shows them at every site.</summary>
    public static ServiceSurfaces Surfaces { get; } = new(All.SelectMany(m => m.Surfaces));
}
