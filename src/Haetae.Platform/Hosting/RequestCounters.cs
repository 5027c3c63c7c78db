using Microsoft.AspNetCore.Http;

namespace Haetae.Platform.Hosting;

/// <summary>Requests and server errors this process has answered (the console's errors-over-time chart).</summary>
public sealed class RequestCounters
{
    private long _requests;
    private long _errors;

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    public async Task CountAsync(HttpContext http, Func<Task> next)
    {
        Interlocked.Increment(ref _requests);
        try
        {
            await next();
        }
        catch
        {
            Interlocked.Increment(ref _errors);
            throw;
        }

        if (http.Response.StatusCode >= 500)
        {
            Interlocked.Increment(ref _errors);
        }
    }
}
