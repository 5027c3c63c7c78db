using System.Buffers.Binary;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;

namespace Exchange;

/// <summary>The exchange's API: <c>GET /api/account</c>, for access tokens issued to audience "exchange".</summary>
internal static class AccountApi
{
    public const string PolicyName = "exchange.api";

    public const string Scope = "exchange.api";

    /// <summary>
    /// Bearer tokens only (never the sign-in cookie, which would make the API callable cross-site), a subject
    /// (a token issued to a client for itself has none and owns no balances), and the "exchange.api" scope.
    /// A missing or invalid token gets the bearer handler's 401; a valid token without the scope gets 403.
    /// </summary>
    public static void AddPolicy(AuthorizationPolicyBuilder policy) => policy
        .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
        .RequireAuthenticatedUser()
        .RequireClaim("sub")
        .RequireAssertion(context => HasScope(context.User, Scope));

    public static void MapAccountApi(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/account", (ClaimsPrincipal user) => TypedResults.Ok(For(user.FindFirstValue("sub")!)))
            .RequireAuthorization(PolicyName);

    /// <summary>
    /// Whether the token grants <paramref name="scope"/>. OpenIddict (and RFC 9068) put the scopes in one
    /// space-separated "scope" claim; other providers send a JSON array, which becomes one claim per scope.
    /// Both shapes are accepted.
    /// </summary>
    public static bool HasScope(ClaimsPrincipal user, string scope) => user
        .FindAll("scope")
        .SelectMany(claim => claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Contains(scope, StringComparer.Ordinal);

    /// <summary>
    /// Balances derived from a hash of the subject: a sample needs stable, distinct numbers per user, not
    /// storage. Up to 100,000,000 KRW and up to 5 BTC (to the satoshi).
    /// </summary>
    public static AccountResponse For(string subject)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(subject));
        var won = BinaryPrimitives.ReadUInt64BigEndian(hash) % 100_000_001UL;
        var satoshi = BinaryPrimitives.ReadUInt64BigEndian(hash.AsSpan(8)) % 500_000_001UL;
        return new AccountResponse(subject, [new Balance("KRW", won), new Balance("BTC", satoshi / 100_000_000m)]);
    }
}

/// <summary>The body of <c>GET /api/account</c>.</summary>
internal sealed record AccountResponse(string Subject, IReadOnlyList<Balance> Balances);

internal sealed record Balance(string Asset, decimal Amount);
