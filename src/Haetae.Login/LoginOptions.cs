namespace Haetae.Login;

/// <summary>The login provider's settings. Bound from configuration section "Haetae:Login".</summary>
internal sealed class LoginOptions
{
    /// <summary>
    /// The issuer every token names, the same at every site (tokens from one site are valid at all).
    /// Each site's discovery document still points at its own endpoints. Default https://login.haetae.local/.
    /// </summary>
    public string Issuer { get; set; } = "https://login.haetae.local/";

    /// <summary>How often a new signing (and encryption) key takes over. Default 30 days.</summary>
    public TimeSpan RotateKeysEvery { get; set; } = KeyRotationPolicy.Default.RotateEvery;

    /// <summary>
    /// How long a new signing key is in the JWKS before it signs: longer than relying parties cache the
    /// JWKS (the sample exchange refreshes every 10 minutes). Default 1 day.
    /// </summary>
    public TimeSpan PublishKeysAhead { get; set; } = KeyRotationPolicy.Default.PublishAhead;

    /// <summary>How long a replaced key stays: longer than any token it protected lives (refresh tokens: 14 days). Default 15 days.</summary>
    public TimeSpan KeepRetiredKeys { get; set; } = KeyRotationPolicy.Default.KeepAfterRetired;

    public KeyRotationPolicy KeyPolicy => new(RotateKeysEvery, PublishKeysAhead, KeepRetiredKeys);

    public void Validate()
    {
        if (!Uri.TryCreate(Issuer, UriKind.Absolute, out var issuer) || issuer.Query.Length > 0 || issuer.Fragment.Length > 0)
        {
            throw new InvalidOperationException("Haetae:Login:Issuer must be an absolute URI without query or fragment.");
        }

        KeyPolicy.Validate();
    }
}
