using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;

namespace Exchange;

/// <summary>The browser pages: home, sign-in, sign-out and the account page.</summary>
internal static class WebPages
{
    public static void MapWebPages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Home);
        app.MapGet("/login", Login);
        app.MapPost("/logout", LogoutAsync);
        // The default policy authenticates with the cookie; a visitor without one is sent to the provider.
        app.MapGet("/account", AccountAsync).RequireAuthorization();
    }

    private static IResult Home(HttpContext context, IAntiforgery antiforgery)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated != true)
        {
            return Html.Page(
                "Welcome",
                """
                <p>Trade KRW and BTC. <span lang="ko">원화와 비트코인을 거래하세요.</span></p>
                <p><a href="/login">Sign in with Haetae <span lang="ko">(해태로 로그인)</span></a></p>
                """);
        }

        return Html.Page(
            "Welcome back",
            $"""
            <p>Signed in as <strong>{Html.E(user.Identity.Name ?? "(no name)")}</strong> (sub <code>{Html.E(user.FindFirstValue("sub"))}</code>).</p>
            <p><a href="/account">My balances <span lang="ko">(내 잔고)</span></a></p>
            {SignOutForm(context, antiforgery)}
            """);
    }

    /// <summary>
    /// Starts the sign-in at the provider. Only local return URLs are followed, or this page would be an open
    /// redirect that lends the exchange's name to phishing links.
    /// </summary>
    private static IResult Login(HttpContext context, string? returnUrl)
    {
        var target = IsLocalUrl(returnUrl) ? returnUrl! : "/";
        if (context.User.Identity?.IsAuthenticated == true)
        {
            return Results.LocalRedirect(target);
        }

        return Results.Challenge(new AuthenticationProperties { RedirectUri = target }, [OpenIdConnectDefaults.AuthenticationScheme]);
    }

    /// <summary>
    /// Signs out of the exchange, then of the provider (RP-initiated logout at its end_session_endpoint, which
    /// comes back to /signout-callback-oidc and then to /). The local sign-out comes first and stands on its own:
    /// a user who asked to leave must be signed out of the exchange even while the provider is unreachable.
    /// </summary>
    private static async Task<IResult> LogoutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        // A cross-site form must not be able to sign the user out.
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid sign-out request", detail: "The form is stale; reload the page and try again.");
        }

        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        try
        {
            // Reads the ID token (id_token_hint) from the cookie ticket authenticated earlier in this request.
            await context.SignOutAsync(OpenIdConnectDefaults.AuthenticationScheme, new AuthenticationProperties { RedirectUri = "/" });
            return Results.Empty;
        }
        catch (ProviderUnavailableException)
        {
            return Html.Page(
                "Signed out",
                """
                <p>You are signed out of the exchange. The login provider could not be reached, so your Haetae session may still be open.</p>
                <p><a href="/">Home</a></p>
                """);
        }
    }

    private static async Task<IResult> AccountAsync(HttpContext context, AccountApiClient api)
    {
        var outcome = await api.GetAccountAsync(context);
        return outcome switch
        {
            AccountOutcome.Shown shown => Html.Page("My balances", BalancesTable(shown.Account)),
            AccountOutcome.SignInAgain => Html.Page(
                "Session expired",
                """
                <p>Your sign-in has expired. <span lang="ko">로그인이 만료되었습니다.</span></p>
                <p><a href="/login?returnUrl=%2Faccount">Sign in with Haetae again</a></p>
                """),
            AccountOutcome.Failed failed => Html.Page(
                "Balances unavailable",
                $"""
                <p role="alert">The account API answered {failed.StatusCode} {Html.E(failed.Message)}. Try again shortly.</p>
                <p><a href="/">Home</a></p>
                """,
                StatusCodes.Status502BadGateway),
            _ => throw new InvalidOperationException($"Unknown outcome {outcome}."),
        };
    }

    private static string BalancesTable(AccountResponse account)
    {
        var rows = new StringBuilder();
        foreach (var balance in account.Balances)
        {
            var amount = balance.Amount.ToString(balance.Asset == "KRW" ? "N0" : "N8", CultureInfo.InvariantCulture);
            rows.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{Html.E(balance.Asset)}</th><td class=\"amount\">{Html.E(amount)}</td></tr>\n");
        }

        return $"""
            <p>Account of <code>{Html.E(account.Subject)}</code>, read from the exchange API with your access token.</p>
            <table>
            <caption>Balances <span lang="ko">(잔고)</span></caption>
            <thead><tr><th scope="col">Asset</th><th scope="col">Amount</th></tr></thead>
            <tbody>
            {rows}</tbody>
            </table>
            <p><a href="/">Home</a></p>
            """;
    }

    private static string SignOutForm(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return $"""
            <form method="post" action="/logout">
            <input type="hidden" name="{Html.E(tokens.FormFieldName)}" value="{Html.E(tokens.RequestToken)}">
            <button type="submit">Sign out <span lang="ko">(로그아웃)</span></button>
            </form>
            """;
    }

    // The rule of ASP.NET Core's IUrlHelper.IsLocalUrl: a path ("/x") but not "//host" or "/\host", which
    // browsers treat as another site.
    private static bool IsLocalUrl(string? url) =>
        !string.IsNullOrEmpty(url)
        && url[0] == '/'
        && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(char.IsControl);
}
