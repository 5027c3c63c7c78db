using Haetae.Chat;
using Haetae.Login;
using Haetae.Operations;
using Haetae.Pay;
using Haetae.Platform;
using Haetae.Platform.Identity;

namespace Haetae.Modules;

/// <summary>
/// The services the platform runs, in one list: the node hosts them, and `haetae status`, the console and
/// a rebuild judge "fully replicated" by their assets. Adding a service is one line here.
/// </summary>
public static class PlatformModules
{
    public static IReadOnlyList<IHaetaeModule> All { get; } = [new IdentityModule(), new ChatModule(), new LoginModule(), new ConsoleModule(), new PayModule()];

    /// <summary>Every module's streams, buckets and object stores: what every node provisions.</summary>
    public static AssetCatalog Catalog { get; } = AssetCatalog.Of(All);
}
