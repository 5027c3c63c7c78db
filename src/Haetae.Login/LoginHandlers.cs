using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Login;

/// <summary>
/// Every site advertises the same issuer but its own endpoints, so that a client that found this site
/// stays on it for the rest of a sign-in, and one that finds another site after a fire goes there.
/// </summary>
internal sealed class PointDiscoveryAtThisSite : IOpenIddictServerHandler<OpenIddictServerEvents.HandleConfigurationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.HandleConfigurationRequestContext>()
            .UseSingletonHandler<PointDiscoveryAtThisSite>()
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(OpenIddictServerEvents.HandleConfigurationRequestContext context)
    {
        var request = context.Transaction.GetHttpRequest()!;
        var site = new Uri($"{request.Scheme}://{request.Host}{request.PathBase}/");
        Uri? Here(Uri? endpoint) => endpoint is null ? null : new Uri(site, endpoint.PathAndQuery.TrimStart('/'));
        context.AuthorizationEndpoint = Here(context.AuthorizationEndpoint);
        context.TokenEndpoint = Here(context.TokenEndpoint);
        context.UserInfoEndpoint = Here(context.UserInfoEndpoint);
        context.RevocationEndpoint = Here(context.RevocationEndpoint);
        context.IntrospectionEndpoint = Here(context.IntrospectionEndpoint);
        context.EndSessionEndpoint = Here(context.EndSessionEndpoint);
        context.JsonWebKeySetEndpoint = Here(context.JsonWebKeySetEndpoint);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A refresh token redeemed at two sites at the same moment is used twice. OpenIddict lets the loser
/// of that race through (it allows concurrent refreshes from one client); the promise here is that a
/// reused refresh token is refused and revokes its chain, so the loser is refused and the chain,
/// including what the winner was just issued, is revoked.
/// </summary>
internal sealed class RejectConcurrentRefresh(IOpenIddictTokenManager tokens) : IOpenIddictServerHandler<OpenIddictServerEvents.ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.ProcessSignInContext>()
            .UseScopedHandler<RejectConcurrentRefresh>()
            .SetOrder(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(OpenIddictServerEvents.ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || !context.Request.IsRefreshTokenGrantType() ||
            context.Transaction.GetHttpRequest()?.HttpContext.Items[TokenStore.LostRedemption] is not string authorizationId)
        {
            return;
        }

        if (authorizationId.Length > 0)
        {
            await foreach (var token in tokens.FindByAuthorizationIdAsync(authorizationId))
            {
                await tokens.TryRevokeAsync(token);
            }
        }

        context.Reject(Errors.InvalidGrant, "The refresh token was used twice at the same moment; its chain is revoked.");
    }
}

/// <summary>
/// The store did not answer within an election's length, or a revocation could not be stored: the
/// OAuth endpoints answer 503 with the standard "temporarily_unavailable" error, so that clients retry.
/// </summary>
internal sealed class LoginOutageHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var outage = exception is RevocationFailedException or NATS.Client.Core.NatsException or TimeoutException or OpenIddictExceptions.ConcurrencyException;
        if (!outage || !(httpContext.Request.Path.StartsWithSegments("/connect") || httpContext.Request.Path.StartsWithSegments(LoginProvider.SignInPath)))
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "1";
        await httpContext.Response.WriteAsJsonAsync(
            new Dictionary<string, string>
            {
                [Parameters.Error] = Errors.TemporarilyUnavailable,
                [Parameters.ErrorDescription] = exception is RevocationFailedException
                    ? "A token could not be revoked; nothing was issued. Retry shortly."
                    : "The login store did not answer in time. Retry shortly.",
            },
            cancellationToken);
        return true;
    }
}

