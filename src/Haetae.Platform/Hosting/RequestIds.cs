using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Haetae.Contracts;
using Microsoft.AspNetCore.Http;

namespace Haetae.Platform.Hosting;

/// <summary>
/// The request-id rule. Every write carries a request id (header Haetae-Request-Id) that stays the same
/// across every retry and every site; everything the write creates takes an id derived from it, so a
/// retry finds what the first attempt made instead of making it again.
/// </summary>
public static partial class RequestIds
{
    /// <summary>The request id of a write: 1 to 64 letters, digits, '-' or '_'; anything else is a 400.</summary>
    public static string Of(HttpRequest request) =>
        request.Headers[ChatHeaders.RequestId] is [{ } id] && IsValid(id)
            ? id
            : throw ApiProblem.BadRequest($"the {ChatHeaders.RequestId} header is required: 1 to 64 letters, digits, '-' or '_'");

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    /// <summary>
    /// A deterministic id: <paramref name="prefix"/> and the first <paramref name="length"/> hex digits of the
    /// SHA-256 of the parts (joined by '|'). The same parts always give the same id.
    /// </summary>
    public static string Derive(string prefix, int length, params ReadOnlySpan<string> parts) =>
        prefix + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('|', parts))))[..length].ToLowerInvariant();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex Pattern();
}
