using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Exchange;

/// <summary>
/// The provider's configuration is not available: no site answered and there is no usable key cache file.
/// Thrown from <see cref="MultiSiteConfigurationManager.GetConfigurationAsync"/> through the authentication
/// handlers; <see cref="ProviderUnavailableHandler"/> answers it with 503.
/// </summary>
internal sealed class ProviderUnavailableException(string reason)
    : Exception($"The OpenID Connect provider's configuration is unavailable: {reason}.")
{
    public string Reason { get; } = reason;
}

/// <summary>
/// Answers <see cref="ProviderUnavailableException"/> with a 503 ProblemDetails: the condition is temporary and
/// not the exchange's bug, so clients should retry rather than report a 500. The detail stays generic: the
/// reason (addresses, file paths) is in the log, not for the public.
/// </summary>
internal sealed class ProviderUnavailableHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // The OpenID Connect handler wraps failures of the sign-in callback in its own exception.
        var unavailable = Find(exception);
        if (unavailable is null)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        // The manager looks for a site that answers this often, so a retry after it can succeed.
        httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(MultiSiteConfigurationManager.ProbeInterval.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Login provider unavailable",
                Detail = "The login provider cannot be reached and no saved copy of its signing keys is available. Try again shortly.",
            },
            Exception = exception,
        });
    }

    private static ProviderUnavailableException? Find(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is ProviderUnavailableException unavailable)
            {
                return unavailable;
            }

            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Select(Find).FirstOrDefault(found => found is not null);
            }
        }

        return null;
    }
}
