using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Login;

/// <summary>
/// OpenIddict's token manager, except that a revocation that cannot be stored is an error, not a
/// warning: the stock manager logs and returns false, and on a replayed code that result is ignored,
/// so the stolen chain would stay valid without anyone knowing. Here the request fails (503) and the
/// failure is logged as an error naming the token.
/// </summary>
internal sealed partial class LoginTokenManager(
    IOpenIddictTokenCache<LoginToken> cache, ILogger<OpenIddictTokenManager<LoginToken>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options, IOpenIddictTokenStore<LoginToken> store)
    : OpenIddictTokenManager<LoginToken>(cache, logger, options, store)
{
    public override async ValueTask<bool> TryRevokeAsync(LoginToken token, CancellationToken cancellationToken = default)
    {
        if (token.Status == Statuses.Revoked)
        {
            return true;
        }

        try
        {
            await Store.SetStatusAsync(token, Statuses.Revoked, cancellationToken);
            await UpdateAsync(token, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRevocationFailed(Logger, token.Id, e.Message);
            throw new RevocationFailedException(token.Id, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Revoking login token {TokenId} failed; it stays valid until it expires or a revocation succeeds: {Reason}")]
    private static partial void LogRevocationFailed(ILogger logger, string? tokenId, string reason);
}

/// <summary>A token that should be revoked could not be.</summary>
internal sealed class RevocationFailedException(string? tokenId, Exception inner)
    : Exception($"Token {tokenId} could not be revoked.", inner);
