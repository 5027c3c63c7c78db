using Haetae.Client;
using Haetae.Contracts;

namespace Haetae.Testing;

/// <summary>Signed-in users for chat tests, each pinned first to a chosen site (the client fails over from there).</summary>
public static class ChatTestUsers
{
    private static int _counter;

    /// <summary>Signs up and signs in a new user whose client starts at site <paramref name="site"/>.</summary>
    public static async Task<(HaetaeClient Client, UserView User)> NewAsync(TestCluster cluster, int site, string name, CancellationToken ct)
    {
        var client = ClientAt(cluster, site);
        var n = Interlocked.Increment(ref _counter);
        var email = $"{name.ToLowerInvariant()}-{n}-{Guid.NewGuid():N}@example.com";
        var user = await client.SignUpAsync(new SignUpRequest(null, email, name, "correct horse battery"), cancellationToken: ct);
        await client.SignInAsync(email, "correct horse battery", ct);
        return (client, user);
    }

    /// <summary>A client that knows every site and tries <paramref name="site"/> first.</summary>
    public static HaetaeClient ClientAt(TestCluster cluster, int site)
    {
        var sites = cluster.Spec.Sites.Select(s => s.NodeUri).ToList();
        return new HaetaeClient([.. sites.Skip(site), .. sites.Take(site)]);
    }

    /// <summary>The same person's client (the same token), trying <paramref name="site"/> first: a retry after the first site burned.</summary>
    public static HaetaeClient SameCallerAt(TestCluster cluster, HaetaeClient client, int site)
    {
        var other = ClientAt(cluster, site);
        other.AccessToken = client.AccessToken;
        return other;
    }
}
