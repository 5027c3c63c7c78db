using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Platform.Hosting;

/// <summary>Operators' calls (client administration, evacuation): a bearer admin key, compared in constant time.</summary>
public static class AdminKey
{
    /// <summary>An endpoint filter: the call goes on only with the admin key (Haetae:AdminKey); else 401.</summary>
    public static async ValueTask<object?> RequireAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var key = context.HttpContext.RequestServices.GetRequiredService<NodeOptions>().AdminKey;
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        var given = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : "";
        var allowed = key.Length > 0 && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        return allowed
            ? await next(context)
            : Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Admin key required", detail: key.Length == 0
                ? "this node has no admin key configured (Haetae:AdminKey), so it refuses every operator's call"
                : "send the operator's admin key as 'Authorization: Bearer KEY'");
    }
}
