using Bank;
using Microsoft.AspNetCore.Http.HttpResults;

// The app's own folder, not the caller's working directory, holds its appsettings.json.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var options = builder.Configuration.GetSection(BankOptions.SectionName).Get<BankOptions>() ?? new BankOptions();
options.Validate();

builder.Services.AddSingleton(options);
builder.Services.AddSingleton(new BankStore(options.Database, options.OpeningBalance));
builder.Services.AddSingleton<Faults>();
builder.Services.AddProblemDetails();
var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapGet("/healthz", () => TypedResults.Ok("ok"));

// Everything else is for the bank's one customer, the platform, which signs each call with the shared secret.
var api = app.MapGroup("").AddEndpointFilter(async (context, next) =>
{
    var http = context.HttpContext;
    if (http.Request.Headers.Authorization != $"Bearer {options.Secret}")
    {
        return TypedResults.Problem(statusCode: 401, title: "Unauthorized", detail: "the bank answers its customer's signed calls only");
    }

    // The operator's faults (POST /faults) apply to the customer's calls, never to the fault switch itself.
    if (!http.Request.Path.StartsWithSegments("/faults", StringComparison.Ordinal))
    {
        var faults = http.RequestServices.GetRequiredService<Faults>();
        if (faults.Down)
        {
            return TypedResults.Problem(statusCode: 503, title: "Bank closed", detail: "the bank is down on purpose (POST /faults)");
        }

        if (faults.Delay > TimeSpan.Zero)
        {
            await Task.Delay(faults.Delay, http.RequestAborted);
        }
    }

    return await next(context);
});

api.MapPost("/v1/debits", (OperationRequest request, BankStore store) => Execute(store, request, OperationKind.Debit));
api.MapPost("/v1/credits", (OperationRequest request, BankStore store) => Execute(store, request, OperationKind.Credit));
api.MapGet("/v1/operations/{key}", Results<Ok<BankOperation>, ProblemHttpResult> (string key, BankStore store) =>
    store.Find(key) is { } found ? TypedResults.Ok(found) : TypedResults.Problem(statusCode: 404, title: "No such operation", detail: $"no operation with key {key}"));
api.MapGet("/v1/accounts/{account}", Results<Ok<BankAccount>, ProblemHttpResult> (string account, BankStore store) =>
    store.Account(account) is { } found ? TypedResults.Ok(found) : TypedResults.Problem(statusCode: 404, title: "No such account", detail: $"no account {account}"));
api.MapGet("/v1/summary", (BankStore store) => TypedResults.Ok(store.Summary()));
api.MapPost("/faults", (FaultsRequest request, Faults faults) =>
{
    if (request.DelayMs is < 0 or > 60_000)
    {
        return Results.Problem(statusCode: 400, title: "Bad faults", detail: "delayMs is 0 to 60000");
    }

    faults.Set(request.Down, TimeSpan.FromMilliseconds(request.DelayMs));
    return Results.Ok(request);
});

app.Run();

static IResult Execute(BankStore store, OperationRequest request, OperationKind kind)
{
    if (request.Key is not { Length: > 0 and <= 128 } || request.Account is not { Length: > 0 and <= 128 })
    {
        return Results.Problem(statusCode: 400, title: "Bad operation", detail: "key and account are 1 to 128 characters");
    }

    if (request.Amount is <= 0 or > BankStore.MaxAmount)
    {
        return Results.Problem(statusCode: 400, title: "Bad amount", detail: $"the amount is ₩1 to ₩{BankStore.MaxAmount:N0}");
    }

    var (operation, matches) = store.Execute(request.Key, request.Account, kind, request.Amount);
    if (!matches)
    {
        return Results.Problem(statusCode: 409, title: "Key reused", detail: $"key {request.Key} was used for another operation: {operation.Kind} of ₩{operation.Amount:N0} on {operation.Account}");
    }

    return operation.Status == OperationStatus.Done
        ? Results.Ok(operation)
        : Results.Problem(statusCode: 402, title: "Refused", detail: operation.Reason, extensions: new Dictionary<string, object?> { ["operation"] = operation });
}
