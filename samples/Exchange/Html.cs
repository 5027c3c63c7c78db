using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Exchange;

/// <summary>
/// Plain HTML pages. Every value that is not a literal of this app goes through <see cref="E"/>: names and
/// messages come from the provider or the user and must never become markup.
/// </summary>
internal static class Html
{
    // All ranges allowed, so Korean text stays readable in the page source instead of becoming &#xAC70; escapes.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    /// <summary>Encodes a value for an element's content or a quoted attribute value.</summary>
    public static string E(string? value) => Encoder.Encode(value ?? "");

    /// <summary>A whole page; <paramref name="body"/> is markup built with <see cref="E"/>.</summary>
    public static IResult Page(string title, string body, int statusCode = StatusCodes.Status200OK) =>
        Results.Content(
            $$"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{E(title)}} · Exchange</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
            table { border-collapse: collapse; }
            th, td { border: 1px solid #888; padding: .25rem .75rem; text-align: left; }
            td.amount { text-align: right; font-variant-numeric: tabular-nums; }
            a, button { font-size: 1rem; }
            </style>
            </head>
            <body>
            <header><p><a href="/">Exchange <span lang="ko">거래소</span></a></p></header>
            <main>
            <h1>{{E(title)}}</h1>
            {{body}}
            </main>
            </body>
            </html>
            """,
            "text/html; charset=utf-8",
            Encoding.UTF8,
            statusCode);
}
