using Haetae.Contracts;
using Haetae.Platform.Hosting;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Login.Tests;

/// <summary>What a client registration may say.</summary>
public sealed class ClientRulesTests
{
    [Theory]
    [InlineData("https://app.example.com/callback")]
    [InlineData("http://127.0.0.1:5000/cb")]
    [InlineData("http://localhost/cb")]
    [InlineData("http://[::1]:8080/cb")]
    public void Https_and_loopback_http_redirect_uris_are_accepted(string uri) =>
        Assert.Equal(new Uri(uri).AbsoluteUri, ClientRules.RedirectUri(uri, "redirectUris"));

    [Theory]
    [InlineData("http://app.example.com/callback")]
    [InlineData("https://app.example.com/cb#fragment")]
    [InlineData("https://user:pw@app.example.com/cb")]
    [InlineData("https://*.example.com/cb")]
    [InlineData("/relative/cb")]
    [InlineData("javascript:alert(1)")]
    [InlineData("")]
    [InlineData(null)]
    public void Other_redirect_uris_are_refused(string? uri) =>
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => ClientRules.RedirectUri(uri, "redirectUris")).Status);

    [Fact]
    public void A_web_client_must_use_pkce_and_ask_for_consent()
    {
        var descriptor = ClientRules.Descriptor("web-app", new ClientRegistration("Web app", ["https://app.example.com/cb"]), "s3cret-s3cret-s3cret-s3cret-s3cret");
        Assert.Equal(ClientTypes.Confidential, descriptor.ClientType);
        Assert.Equal(ConsentTypes.Explicit, descriptor.ConsentType);
        Assert.Contains(Requirements.Features.ProofKeyForCodeExchange, descriptor.Requirements);
        Assert.Contains(Permissions.GrantTypes.AuthorizationCode, descriptor.Permissions);
        Assert.DoesNotContain(Permissions.GrantTypes.ClientCredentials, descriptor.Permissions);
    }

    [Fact]
    public void A_public_client_has_no_secret_and_no_client_credentials()
    {
        var descriptor = ClientRules.Descriptor("phone-app", new ClientRegistration("Phone", ["http://127.0.0.1/cb"], Public: true), "ignored-ignored-ignored-ignored-ignored");
        Assert.Null(descriptor.ClientSecret);
        Assert.Equal(ClientTypes.Public, descriptor.ClientType);
        Assert.Throws<ApiProblem>(() => ClientRules.Descriptor("phone-app", new ClientRegistration("Phone", ["http://127.0.0.1/cb"], Public: true, ClientCredentials: true), null));
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("Upper")]
    [InlineData("-leading")]
    [InlineData("with space")]
    [InlineData("dots.not.allowed")]
    public void Bad_client_ids_are_refused(string clientId) => Assert.Throws<ApiProblem>(() => ClientRules.ClientId(clientId));

    [Theory]
    [InlineData("openid")]
    [InlineData("profile")]
    [InlineData("Exchange.Api")]
    [InlineData("x")]
    public void Standard_or_malformed_scope_names_cannot_be_registered(string name) => Assert.Throws<ApiProblem>(() => ClientRules.ScopeName(name));
}
