using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;

namespace Haetae.Gifts;

/// <summary>Shops' products, kept by each shop's keeper, with prices in won.</summary>
public sealed class Catalog(GiftStore store, IPayments payments, TimeProvider time)
{
    public const int MaxNameLength = 40;

    public const int MaxPerShop = 20;

    /// <summary>The highest price of a voucher.</summary>
    public const long MaxPrice = 500_000;

    public async Task<ProductView> AddAsync(string user, NewProductRequest request, string requestId, CancellationToken cancellationToken)
    {
        var shop = await RequireOwnShopAsync(user, request.MerchantId, cancellationToken);
        var name = RequireName(request.Name);
        RequirePrice(request.Price);
        if (!Enum.IsDefined(request.Kind))
        {
            throw ApiProblem.BadRequest("kind is Item or Amount");
        }

        var id = RequestIds.Derive("gp", 16, shop.Id, requestId);
        var bucket = await store.BucketAsync();
        await bucket.UpdateAsync(GiftKeys.ShopProducts(shop.Id), current =>
        {
            var ids = current?.Ids ?? [];
            return ids.Contains(id) ? current!
                : ids.Count >= MaxPerShop ? throw ApiProblem.Conflict($"a shop sells at most {MaxPerShop} products")
                : new ProductList([.. ids, id]);
        }, cancellationToken);
        var product = new ProductRecord(id, shop.Id, shop.Name, name, request.Kind, request.Price, false, time.GetUtcNow());
        if (!await bucket.TryCreateAsync(GiftKeys.Product(id), product, cancellationToken))
        {
            product = (await store.ReadAsync(GiftKeys.Product(id), cancellationToken))!.Value;
        }

        return View(product);
    }

    /// <summary>The keeper renames, reprices or retires a product; vouchers sold already keep what they were sold with.</summary>
    public async Task<ProductView> ChangeAsync(string user, string productId, ProductChange change, CancellationToken cancellationToken)
    {
        var current = await RequireAsync(productId, cancellationToken);
        await RequireOwnShopAsync(user, current.Value.MerchantId, cancellationToken);
        var name = change.Name is null ? null : RequireName(change.Name);
        if (change.Price is { } price)
        {
            RequirePrice(price);
        }

        var bucket = await store.BucketAsync();
        var changed = await bucket.UpdateAsync(GiftKeys.Product(productId), p => p! with
        {
            Name = name ?? p.Name,
            Price = change.Price ?? p.Price,
            Retired = change.Retired ?? p.Retired,
            Updated = time.GetUtcNow(),
        }, cancellationToken);
        return View(changed);
    }

    /// <summary>Every product on sale (or, with <paramref name="merchantId"/>, one shop's, retired ones too).</summary>
    public async Task<IReadOnlyList<ProductView>> ListAsync(string? merchantId, CancellationToken cancellationToken)
    {
        var bucket = await store.BucketAsync();
        List<string> ids = [];
        if (merchantId is not null)
        {
            ids = [.. RequestIds.IsValid(merchantId) ? (await store.ReadAsync(GiftKeys.ShopProducts(merchantId), cancellationToken))?.Value.Ids ?? [] : []];
        }
        else
        {
            await foreach (var key in bucket.KeysAsync("product.>", cancellationToken))
            {
                ids.Add(key["product.".Length..]);
            }
        }

        var products = await Task.WhenAll(ids.Select(id => bucket.TryGetAsync(GiftKeys.Product(id), cancellationToken)));
        return [.. products.OfType<Versioned<ProductRecord>>().Select(p => p.Value).Where(p => merchantId is not null || !p.Retired)
            .OrderBy(p => p.Shop, StringComparer.Ordinal).ThenBy(p => p.Price).Select(View)];
    }

    public async Task<ProductView> GetAsync(string productId, CancellationToken cancellationToken) => View((await RequireAsync(productId, cancellationToken)).Value);

    /// <summary>The product, from the bucket's leader; a 404 when there is none.</summary>
    public async Task<Versioned<ProductRecord>> RequireAsync(string? productId, CancellationToken cancellationToken) =>
        RequestIds.IsValid(productId) && await store.ReadAsync(GiftKeys.Product(productId!), cancellationToken) is { } product
            ? product
            : throw ApiProblem.NotFound($"no product {productId}");

    /// <summary>A shop the caller keeps; a 404 for anyone else's (its existence is not told).</summary>
    public async Task<Shop> RequireOwnShopAsync(string user, string? merchantId, CancellationToken cancellationToken) =>
        merchantId is not null && await payments.ShopAsync(merchantId, cancellationToken) is { } shop && shop.OwnerId == user
            ? shop
            : throw ApiProblem.NotFound($"no shop {merchantId} of yours");

    private static string RequireName(string? name)
    {
        var trimmed = name?.Trim();
        return string.IsNullOrEmpty(trimmed) || trimmed.Length > MaxNameLength || trimmed.Any(char.IsControl)
            ? throw ApiProblem.BadRequest($"a product's name is 1 to {MaxNameLength} characters without control characters")
            : trimmed;
    }

    private static void RequirePrice(long price)
    {
        if (price is < 1 or > MaxPrice)
        {
            throw ApiProblem.BadRequest($"a price is ₩1 to ₩{MaxPrice:N0}, in whole won");
        }
    }

    private static ProductView View(ProductRecord p) => new(p.Id, p.MerchantId, p.Shop, p.Name, p.Kind, p.Price, p.Retired, p.Updated);
}
