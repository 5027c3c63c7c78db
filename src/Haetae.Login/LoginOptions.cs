namespace Haetae.Login;

/// <summary>The login provider's settings. Bound from configuration section "Haetae:Login".</summary>
internal sealed class LoginOptions
{
    /// <summary>
    /// The issuer every token names, the same at every site (tokens from one site are valid at all).
    /// Each site's discovery document still points at its own endpoints. Default https://login.haetae.local/.
    /// </summary>
    public string Issuer { get; set; } = "https://login.haetae.local/";

    public void Validate()
    {
        if (!Uri.TryCreate(Issuer, UriKind.Absolute, out var issuer) || issuer.Query.Length > 0 || issuer.Fragment.Length > 0)
        {
            throw new InvalidOperationException("Haetae:Login:Issuer must be an absolute URI without query or fragment.");
        }
    }
}
