using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Store;
using OpenIddict.Abstractions;

namespace Haetae.Login;

internal sealed class ScopeStore(Buckets buckets) : KvStore<LoginScope>(buckets, Assets.LoginClientsBucket, "scope"), IOpenIddictScopeStore<LoginScope>
{
    private static string NameIndex(string name) => $"scopename.{EntityBucket<LoginScope>.KeyPartOf(name)}";

    public async ValueTask CreateAsync(LoginScope scope, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope.Name);
        scope.Id ??= EntityBucket<LoginScope>.NewId();
        await ClaimIndexAsync(NameIndex(scope.Name), scope.Id, cancellationToken);
        await Entities.CreateAsync(scope, cancellationToken);
    }

    public override async ValueTask DeleteAsync(LoginScope scope, CancellationToken cancellationToken)
    {
        await base.DeleteAsync(scope, cancellationToken);
        if (scope.Name is not null)
        {
            await DropIndexAsync(NameIndex(scope.Name), cancellationToken);
        }
    }

    public ValueTask<LoginScope?> FindByNameAsync(string name, CancellationToken cancellationToken) => FindByIndexAsync(NameIndex(name), cancellationToken);

    public async IAsyncEnumerable<LoginScope> FindByNamesAsync(ImmutableArray<string> names, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (await FindByNameAsync(name, cancellationToken) is { } scope)
            {
                yield return scope;
            }
        }
    }

    public IAsyncEnumerable<LoginScope> FindByResourceAsync(string resource, CancellationToken cancellationToken) =>
        WhereAsync(s => s.Resources.Contains(resource, StringComparer.Ordinal), cancellationToken);

    public ValueTask<string?> GetDescriptionAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Description);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDescriptionsAsync(LoginScope scope, CancellationToken cancellationToken) => Done(Cultures(scope.Descriptions));

    public ValueTask<string?> GetDisplayNameAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.DisplayName);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDisplayNamesAsync(LoginScope scope, CancellationToken cancellationToken) => Done(Cultures(scope.DisplayNames));

    public ValueTask<string?> GetNameAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Name);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Properties);

    public ValueTask<ImmutableArray<string>> GetResourcesAsync(LoginScope scope, CancellationToken cancellationToken) => Done(scope.Resources);

    public ValueTask SetDescriptionAsync(LoginScope scope, string? description, CancellationToken cancellationToken) => Set(() => scope.Description = description);

    public ValueTask SetDescriptionsAsync(LoginScope scope, ImmutableDictionary<CultureInfo, string> descriptions, CancellationToken cancellationToken) => Set(() => scope.Descriptions = Names(descriptions));

    public ValueTask SetDisplayNameAsync(LoginScope scope, string? name, CancellationToken cancellationToken) => Set(() => scope.DisplayName = name);

    public ValueTask SetDisplayNamesAsync(LoginScope scope, ImmutableDictionary<CultureInfo, string> names, CancellationToken cancellationToken) => Set(() => scope.DisplayNames = Names(names));

    public ValueTask SetNameAsync(LoginScope scope, string? name, CancellationToken cancellationToken)
    {
        if (scope.Id is not null && scope.Name is not null && scope.Name != name)
        {
            throw new InvalidOperationException("A scope's name cannot change; create a new scope.");
        }

        return Set(() => scope.Name = name);
    }

    public ValueTask SetPropertiesAsync(LoginScope scope, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) => Set(() => scope.Properties = properties);

    public ValueTask SetResourcesAsync(LoginScope scope, ImmutableArray<string> resources, CancellationToken cancellationToken) => Set(() => scope.Resources = resources);
}
