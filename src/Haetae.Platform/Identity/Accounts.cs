using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Store;
using Microsoft.AspNetCore.Identity;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Haetae.Platform.Identity;

/// <summary>
/// A user as stored in the accounts bucket (user.ID). The password is stored only as a hash. DisplayName,
/// StatusMessage and PhotoId are the default profile, the one everybody sees who is not assigned another.
/// </summary>
public sealed record UserRecord(
    string Id, string? Phone, string? Email, string DisplayName, string PasswordHash, DateTimeOffset CreatedAt, string RequestId, string? StatusMessage = null, string? PhotoId = null)
{
    /// <summary>The default profile as others see it.</summary>
    public UserView DefaultView => new(Id, DisplayName, StatusMessage, PhotoId);
}

/// <summary>Points a login (phone or e-mail) at its user (login.KIND.HASH).</summary>
public sealed record LoginRecord(string UserId);

/// <summary>Marks a signed-out session (revoked.SID in the sessions bucket).</summary>
public sealed record RevokedSession(DateTimeOffset At);

/// <summary>The rules for what a person may sign up with: plain functions, testable without a store.</summary>
public static partial class AccountRules
{
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 256;
    public const int MaxDisplayNameLength = 64;

    /// <summary>E.164-style: an optional '+', then 7 to 15 digits; spaces, dashes and parentheses are dropped.</summary>
    public static string? NormalizePhone(string? phone)
    {
        if (string.IsNullOrWhiteSpace(phone))
        {
            return null;
        }

        var compact = PhoneSeparators().Replace(phone.Trim(), "");
        return PhoneNumber().IsMatch(compact) ? compact : throw ApiProblem.BadRequest("phone must be 7 to 15 digits, optionally starting with '+'");
    }

    public static string? NormalizeEmail(string? email)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            return null;
        }

        var trimmed = email.Trim().ToLowerInvariant();
        return trimmed.Length <= 254 && EmailAddress().IsMatch(trimmed) ? trimmed : throw ApiProblem.BadRequest("email is not a valid e-mail address");
    }

    public static string DisplayName(string? displayName)
    {
        var trimmed = displayName?.Trim() ?? "";
        if (trimmed.Length == 0 || trimmed.Length > MaxDisplayNameLength || trimmed.Any(char.IsControl))
        {
            throw ApiProblem.BadRequest($"displayName must be 1 to {MaxDisplayNameLength} characters without control characters");
        }

        return trimmed;
    }

    public static string Password(string? password) =>
        password is { Length: >= MinPasswordLength and <= MaxPasswordLength }
            ? password
            : throw ApiProblem.BadRequest($"password must be {MinPasswordLength} to {MaxPasswordLength} characters");

    /// <summary>A login's key in the accounts bucket: a hash, so that keys need no escaping and do not show addresses.</summary>
    public static Key<LoginRecord> LoginKey(string kind, string normalized) =>
        new(RequestIds.Derive($"login.{kind}.", 64, normalized));

    /// <summary>The same sign-up request (request id and login) always makes the same user id, so a retry finds its own user.</summary>
    public static string UserId(string requestId, string login) =>
        RequestIds.Derive("u", 20, "signup", requestId, login);

    /// <summary>A login typed at sign-in: an e-mail if it has '@', otherwise a phone number.</summary>
    public static Key<LoginRecord> LoginKeyOf(string login) =>
        login.Contains('@', StringComparison.Ordinal) ? LoginKey("email", NormalizeEmail(login)!) : LoginKey("phone", NormalizePhone(login)!);

    public static bool IsUserId([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? id) => id is not null && UserIdPattern().IsMatch(id);

    [GeneratedRegex(@"[\s\-()]")]
    private static partial Regex PhoneSeparators();

    [GeneratedRegex(@"^\+?[0-9]{7,15}$")]
    private static partial Regex PhoneNumber();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailAddress();

    [GeneratedRegex("^u[0-9a-f]{20}$")]
    private static partial Regex UserIdPattern();
}

/// <summary>The identity's keys: users and their logins (accounts bucket), signed-out sessions (sessions bucket).</summary>
public static class IdentityKeys
{
    public const string RevokedPrefix = "revoked.";

    public static Key<UserRecord> User(string userId) => new($"user.{userId}");

    public static Key<RevokedSession> Revoked(string session) => new(RevokedPrefix + session);
}

/// <summary>Sign-up, sign-in and sign-out against the replicated accounts and sessions buckets.</summary>
public sealed class Accounts(Buckets buckets, KeyRing keys, HotCaches caches, TimeProvider time)
{
    public const string Issuer = "haetae";
    public const string Audience = "haetae";
    public const string SessionClaim = "sid";

    private static readonly PasswordHasher<UserRecord> Hasher = new();

    public async Task<UserView> SignUpAsync(SignUpRequest request, string requestId, CancellationToken cancellationToken)
    {
        var phone = AccountRules.NormalizePhone(request.Phone);
        var email = AccountRules.NormalizeEmail(request.Email);
        if (phone is null && email is null)
        {
            throw ApiProblem.BadRequest("a phone number or an e-mail address is required");
        }

        var displayName = AccountRules.DisplayName(request.DisplayName);
        var password = AccountRules.Password(request.Password);
        var userId = AccountRules.UserId(requestId, phone ?? email!);
        var accounts = await buckets.GetAsync(Assets.AccountsBucket);

        var existing = await accounts.TryGetAsync<UserRecord>(IdentityKeys.User(userId), cancellationToken);
        if (existing is null)
        {
            var user = new UserRecord(userId, phone, email, displayName, Hasher.HashPassword(null!, password), time.GetUtcNow(), requestId);
            if (!await accounts.TryCreateAsync(IdentityKeys.User(userId), user, cancellationToken))
            {
                existing = await accounts.TryGetAsync<UserRecord>(IdentityKeys.User(userId), cancellationToken);
            }
        }

        // Claim each login; a login that belongs to someone else undoes this sign-up.
        var claimed = new List<Key<LoginRecord>>();
        foreach (var key in new[] { phone is null ? (Key<LoginRecord>?)null : AccountRules.LoginKey("phone", phone), email is null ? null : AccountRules.LoginKey("email", email) }.OfType<Key<LoginRecord>>())
        {
            if (await accounts.TryCreateAsync(key, new LoginRecord(userId), cancellationToken))
            {
                claimed.Add(key);
                continue;
            }

            var owner = await accounts.TryGetAsync<LoginRecord>(key, cancellationToken);
            if (owner?.Value.UserId != userId)
            {
                foreach (var mine in claimed)
                {
                    await accounts.DeleteAsync(mine, cancellationToken);
                }

                if (existing is null)
                {
                    await accounts.DeleteAsync(IdentityKeys.User(userId), cancellationToken);
                }

                throw ApiProblem.Conflict(key.Name.Contains(".phone.", StringComparison.Ordinal) ? "this phone number is already registered" : "this e-mail address is already registered");
            }
        }

        return new UserView(userId, existing?.Value.DisplayName ?? displayName);
    }

    public async Task<TokenResponse> SignInAsync(SignInRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Login) || string.IsNullOrEmpty(request.Password))
        {
            throw ApiProblem.BadRequest("login and password are required");
        }

        var user = await CheckPasswordAsync(request.Login, request.Password, cancellationToken)
            ?? throw new ApiProblem(Microsoft.AspNetCore.Http.StatusCodes.Status401Unauthorized, "Sign-in refused", "unknown login or wrong password");

        var signing = await keys.SigningAsync(cancellationToken);
        var now = time.GetUtcNow();
        var expires = now + Assets.SessionLifetime;
        var session = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, user.Id), new Claim(SessionClaim, session)]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = signing,
        });
        return new TokenResponse(token, expires, user.Id);
    }

    /// <summary>The user whose login (phone or e-mail) and password these are; null for an unknown login or a wrong password alike.</summary>
    public async Task<UserRecord?> CheckPasswordAsync(string login, string password, CancellationToken cancellationToken)
    {
        Key<LoginRecord> loginKey;
        try
        {
            loginKey = AccountRules.LoginKeyOf(login);
        }
        catch (ApiProblem)
        {
            return null;
        }

        var user = await FindByLoginKeyAsync(loginKey, cancellationToken);
        return user is not null && Hasher.VerifyHashedPassword(user, user.PasswordHash, password) != PasswordVerificationResult.Failed ? user : null;
    }

    public async Task SignOutAsync(string session, CancellationToken cancellationToken)
    {
        var sessions = await buckets.GetAsync(Assets.SessionsBucket);
        await sessions.PutAsync(IdentityKeys.Revoked(session), new RevokedSession(time.GetUtcNow()), cancellationToken);
    }

    /// <remarks>Read from the node's cache: a sign-out reaches every site within milliseconds.</remarks>
    public async Task<bool> IsRevokedAsync(string session, CancellationToken cancellationToken) =>
        await caches.Revocations.GetAsync(IdentityKeys.Revoked(session), cancellationToken) is not null;

    public async Task<UserRecord?> FindAsync(string userId, CancellationToken cancellationToken)
    {
        if (!AccountRules.IsUserId(userId))
        {
            return null;
        }

        var accounts = await buckets.GetAsync(Assets.AccountsBucket);
        return (await accounts.TryGetAsync<UserRecord>(IdentityKeys.User(userId), cancellationToken))?.Value;
    }

    public Task<UserRecord?> FindByLoginAsync(string kind, string normalized, CancellationToken cancellationToken) =>
        FindByLoginKeyAsync(AccountRules.LoginKey(kind, normalized), cancellationToken);

    private async Task<UserRecord?> FindByLoginKeyAsync(Key<LoginRecord> loginKey, CancellationToken cancellationToken)
    {
        var accounts = await buckets.GetAsync(Assets.AccountsBucket);
        var login = await accounts.TryGetAsync<LoginRecord>(loginKey, cancellationToken);
        return login is null ? null : await FindAsync(login.Value.UserId, cancellationToken);
    }

}
