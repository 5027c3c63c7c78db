using System.Collections.Immutable;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Login;

/// <summary>
/// The provider's two pages, sign-in and consent: plain server-rendered HTML (they must work with
/// scripts off, inside any app's web view), every value HTML-encoded, labelled fields, Korean and English.
/// </summary>
internal static class LoginPages
{
    public const string AntiforgeryField = "__antiforgery";

    public static IResult SignIn(HttpContext http, IAntiforgery antiforgery, string returnUrl, string? error, string? login, int status)
    {
        var body = new StringBuilder();
        body.Append("<h1>Haetae 로그인 · Sign in</h1>");
        if (error is not null)
        {
            body.Append("<p role=\"alert\" class=\"error\">").Append(E(error)).Append("</p>");
        }

        body.Append("<form method=\"post\" action=\"").Append(E(LoginProvider.SignInPath)).Append("\">")
            .Append(Antiforgery(http, antiforgery))
            .Append(Hidden("returnUrl", returnUrl))
            .Append("<label for=\"login\">전화번호 또는 이메일 · Phone or e-mail</label>")
            .Append("<input id=\"login\" name=\"login\" autocomplete=\"username\" required value=\"").Append(E(login ?? "")).Append("\">")
            .Append("<label for=\"password\">비밀번호 · Password</label>")
            .Append("<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>")
            .Append("<button type=\"submit\">로그인 · Sign in</button></form>");
        return Page("Sign in · 로그인", body.ToString(), status);
    }

    public static IResult Consent(HttpContext http, IAntiforgery antiforgery, string application, string person, ImmutableArray<string> scopes)
    {
        var body = new StringBuilder();
        body.Append("<h1>").Append(E(application)).Append("</h1>")
            .Append("<p>").Append(E(person)).Append(" 님, <strong>").Append(E(application)).Append("</strong>에 다음을 허용할까요? · Allow <strong>")
            .Append(E(application)).Append("</strong> to:</p><ul>");
        foreach (var scope in scopes)
        {
            body.Append("<li>").Append(E(Describe(scope))).Append("</li>");
        }

        body.Append("</ul><form method=\"post\" action=\"").Append(E(LoginProvider.AuthorizePath)).Append("\">")
            .Append(Antiforgery(http, antiforgery));
        var parameters = http.Request.HasFormContentType
            ? http.Request.Form.Where(p => p.Key is not "consent" and not AntiforgeryField)
            : http.Request.Query;
        foreach (var (name, values) in parameters)
        {
            foreach (var value in values)
            {
                body.Append(Hidden(name, value ?? ""));
            }
        }

        body.Append("<button type=\"submit\" name=\"consent\" value=\"accept\">허용 · Allow</button>")
            .Append("<button type=\"submit\" name=\"consent\" value=\"deny\">거부 · Deny</button></form>");
        return Page("Allow access · 접근 허용", body.ToString(), StatusCodes.Status200OK);
    }

    private static string Describe(string scope) => scope switch
    {
        Scopes.OpenId => "로그인 확인 · Know that it is you",
        Scopes.Profile => "이름 보기 · See your name",
        Scopes.Email => "이메일 보기 · See your e-mail address",
        Scopes.OfflineAccess => "로그인 유지 · Stay signed in",
        _ => scope,
    };

    private static string Antiforgery(HttpContext http, IAntiforgery antiforgery) =>
        Hidden(AntiforgeryField, antiforgery.GetAndStoreTokens(http).RequestToken ?? "");

    private static string Hidden(string name, string value) => $"<input type=\"hidden\" name=\"{E(name)}\" value=\"{E(value)}\">";

    private static string E(string value) => HtmlEncoder.Default.Encode(value);

    private static IResult Page(string title, string body, int status) =>
        Results.Content(
            $$"""
             <!doctype html>
             <html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
             <title>{{E(title)}}</title>
             <style>
             body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#111;background:#fff}
             label{display:block;margin-top:1rem;font-weight:600} input{width:100%;padding:.6rem;font-size:1rem;box-sizing:border-box}
             button{margin-top:1.2rem;margin-right:.5rem;padding:.6rem 1.2rem;font-size:1rem;background:#1a1a1a;color:#fff;border:0;border-radius:.3rem}
             button[value=deny]{background:#fff;color:#1a1a1a;border:1px solid #1a1a1a} .error{color:#a00000;font-weight:600}
             :focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
             </style></head>
             <body><main>{{body}}</main></body></html>
             """,
            "text/html; charset=utf-8",
            Encoding.UTF8,
            status);
}
