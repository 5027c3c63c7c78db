using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Haetae.Drill;

/// <summary>What a sign-in ended with at the client's redirect URI: a code, or the provider's OAuth error.</summary>
public sealed record AuthorizeOutcome(string? Code, string? Error, string? ErrorDescription, string? State);

/// <summary>The page a browsing session ended on, after every redirect, sign-in and consent.</summary>
public sealed record BrowsedPage(Uri At, int Status, string Text);

/// <summary>A PKCE pair (S256): the client keeps the verifier and sends the challenge.</summary>
public sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        var verifier = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return new Pkce(verifier, System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }
}

/// <summary>
/// A person's browser during a sign-in: it follows the provider's redirects, fills in the sign-in
/// form, accepts the consent page, and stops at the client's redirect URI. Cookies are kept per
/// browser, as a real one keeps them, so a second sign-in at the same site skips the password.
/// </summary>
public sealed partial class LoginBrowser : IDisposable
{
    private const int MaxHops = 12;
    private readonly HttpClient _http;
    private readonly CookieContainer _cookies = new();

    public LoginBrowser(TimeSpan? timeout = null)
    {
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = _cookies, UseCookies = true })
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(20),
        };
    }

    /// <summary>Sign-in forms this browser filled in.</summary>
    public int SignIns { get; private set; }

    /// <summary>Consent pages this browser accepted.</summary>
    public int Consents { get; private set; }

    /// <summary>Throws away the cookies of <paramref name="site"/>, as a closed browser forgets a session cookie.</summary>
    public void ForgetCookies(Uri site)
    {
        foreach (Cookie cookie in _cookies.GetCookies(site))
        {
            cookie.Expired = true;
        }
    }

    /// <summary>One request, redirects not followed: its status and where it redirects to, if anywhere.</summary>
    public async Task<(int Status, Uri? Location)> VisitAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(uri, cancellationToken);
        return ((int)response.StatusCode, response.Headers.Location is { } location ? new Uri(uri, location) : null);
    }

    /// <summary>The authorization request for a code with PKCE, at one site's authorization endpoint.</summary>
    public static Uri AuthorizeUri(Uri site, string clientId, Uri redirectUri, string scope, Pkce pkce, string state, string? prompt = null) =>
        new(site, "/connect/authorize?" + string.Join("&", new Dictionary<string, string?>
        {
            ["client_id"] = clientId,
            ["redirect_uri"] = redirectUri.AbsoluteUri,
            ["response_type"] = "code",
            ["scope"] = scope,
            ["state"] = state,
            ["code_challenge"] = pkce.Challenge,
            ["code_challenge_method"] = "S256",
            ["prompt"] = prompt,
        }.Where(p => p.Value is not null).Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}")));

    /// <summary>
    /// Follows <paramref name="authorizeUri"/> until the provider sends the browser to
    /// <paramref name="redirectUri"/>, signing in and consenting on the way. Throws with the page's
    /// status and text when the provider answers with anything a person could not get past.
    /// </summary>
    public async Task<AuthorizeOutcome> AuthorizeAsync(Uri authorizeUri, Uri redirectUri, string login, string password, CancellationToken cancellationToken) =>
        (AuthorizeOutcome)await BrowseAsync(authorizeUri, redirectUri, login, password, cancellationToken);

    /// <summary>
    /// Opens <paramref name="start"/> (an app's page that needs a signed-in person, say) and follows
    /// everything, through the provider's pages and back to the app, to the page it ends on.
    /// </summary>
    public async Task<BrowsedPage> OpenAsync(Uri start, string login, string password, CancellationToken cancellationToken) =>
        (BrowsedPage)await BrowseAsync(start, redirectUri: null, login, password, cancellationToken);

    private async Task<object> BrowseAsync(Uri start, Uri? redirectUri, string login, string password, CancellationToken cancellationToken)
    {
        var response = await _http.GetAsync(start, cancellationToken);
        for (var hop = 0; hop < MaxHops; hop++)
        {
            var current = response;
            using (current)
            {
                var page = await current.Content.ReadAsStringAsync(cancellationToken);
                var at = current.RequestMessage!.RequestUri!;
                if (current.StatusCode is HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.Redirect)
                {
                    var location = new Uri(at, current.Headers.Location!);
                    if (redirectUri is not null && location.GetLeftPart(UriPartial.Path) == redirectUri.GetLeftPart(UriPartial.Path))
                    {
                        var query = System.Web.HttpUtility.ParseQueryString(location.Query);
                        return new AuthorizeOutcome(query["code"], query["error"], query["error_description"], query["state"]);
                    }

                    response = await _http.GetAsync(location, cancellationToken);
                    continue;
                }

                if (current.StatusCode == HttpStatusCode.OK && page.Contains("name=\"password\"", StringComparison.Ordinal))
                {
                    var fields = HiddenFields(page);
                    fields["login"] = login;
                    fields["password"] = password;
                    SignIns++;
                    response = await _http.PostAsync(new Uri(at, "/login"), new FormUrlEncodedContent(fields), cancellationToken);
                    continue;
                }

                if (current.StatusCode == HttpStatusCode.OK && page.Contains("name=\"consent\"", StringComparison.Ordinal))
                {
                    var fields = HiddenFields(page);
                    fields["consent"] = "accept";
                    Consents++;
                    response = await _http.PostAsync(new Uri(at, "/connect/authorize"), new FormUrlEncodedContent(fields), cancellationToken);
                    continue;
                }

                if (redirectUri is null)
                {
                    return new BrowsedPage(at, (int)current.StatusCode, page);
                }

                throw new LoginFlowException((int)current.StatusCode, at, page.Length > 600 ? page[..600] : page);
            }
        }

        response.Dispose();
        throw new LoginFlowException(0, start, $"more than {MaxHops} redirects");
    }

    private static Dictionary<string, string> HiddenFields(string page) =>
        HiddenInput().Matches(page).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenInput();

    public void Dispose() => _http.Dispose();
}

/// <summary>The provider answered a sign-in step with something a person could not get past.</summary>
public sealed class LoginFlowException(int status, Uri at, string page)
    : Exception($"sign-in stopped at {at} with HTTP {status}: {page}")
{
    public int Status { get; } = status;
}
