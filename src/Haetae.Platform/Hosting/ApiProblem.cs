using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Haetae.Platform.Hosting;

/// <summary>A request the API refuses: becomes a ProblemDetails response with this status, and changes nothing.</summary>
public sealed class ApiProblem(int status, string title, string? detail = null) : Exception(detail ?? title)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public string? Detail { get; } = detail;

    public static ApiProblem BadRequest(string detail) => new(StatusCodes.Status400BadRequest, "Invalid request", detail);

    public static ApiProblem NotFound(string detail) => new(StatusCodes.Status404NotFound, "Not found", detail);

    public static ApiProblem Forbidden(string detail) => new(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public static ApiProblem Conflict(string detail) => new(StatusCodes.Status409Conflict, "Conflict", detail);
}

/// <summary>Turns <see cref="ApiProblem"/> into ProblemDetails; everything else is left to the default handler (a 500 is a bug).</summary>
public sealed class ApiProblemHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            ApiProblem p => (p.Status, p.Title, p.Detail),
            BadHttpRequestException b => (b.StatusCode, "Invalid request", b.Message),
            // A form body that does not parse (a broken multipart boundary, a form past the size limit).
            InvalidDataException d => (StatusCodes.Status400BadRequest, "Invalid request", d.Message),
            // Any store failure that escaped its retry policy: the write did not happen, or happened once.
            NATS.Client.Core.NatsException or TimeoutException =>
                (StatusCodes.Status503ServiceUnavailable, "Store unavailable", "The replicated store did not answer in time; retry with the same request id."),
            _ => (0, "", null),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
            Exception = exception,
        });
    }
}
