using Haetae.Platform.Identity;

namespace Haetae.Platform.Tests;

/// <summary>When token keys are created, published, used and dropped.</summary>
public sealed class KeyRotationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly KeyRotationPolicy Policy = new(RotateEvery: TimeSpan.FromDays(30), PublishAhead: TimeSpan.FromDays(1), KeepAfterRetired: TimeSpan.FromDays(15));
    private int _next;

    private (string Kid, string Material) NewKey(KeyUse use) => ($"{use}-{++_next}", "material");

    private static IReadOnlyList<string> Signing(KeySet set, DateTimeOffset at) => [.. KeyRotation.InUseOrder(set, KeyUse.Signing, at).Select(k => k.Kid)];

    [Fact]
    public void An_empty_ring_gets_one_key_of_each_use_in_use_at_once()
    {
        var set = KeyRotation.Rotate(new KeySet([]), T0, Policy, NewKey);
        Assert.Equal(["Signing-1"], Signing(set, T0));
        Assert.Equal(["Encryption-2"], KeyRotation.InUseOrder(set, KeyUse.Encryption, T0).Select(k => k.Kid));
        Assert.Same(set, KeyRotation.Rotate(set, T0 + TimeSpan.FromDays(1), Policy, NewKey));
    }

    [Fact]
    public void The_next_key_is_published_ahead_and_signs_only_from_its_time()
    {
        var first = KeyRotation.Rotate(new KeySet([]), T0, Policy, NewKey);
        var publishAt = T0 + Policy.RotateEvery - Policy.PublishAhead;
        Assert.Same(first, KeyRotation.Rotate(first, publishAt - TimeSpan.FromSeconds(1), Policy, NewKey));

        var withNext = KeyRotation.Rotate(first, publishAt, Policy, NewKey);
        var next = withNext.Keys.Single(k => k.Use == KeyUse.Signing && k.Kid != "Signing-1");
        Assert.Equal(publishAt + Policy.PublishAhead, next.UsedFrom);

        // Published (in the order, so in the JWKS) but not first, so not signing, until its time.
        Assert.Equal(["Signing-1", next.Kid], Signing(withNext, publishAt));
        Assert.Equal(["Signing-1", next.Kid], Signing(withNext, next.UsedFrom - TimeSpan.FromTicks(1)));
        Assert.Equal([next.Kid, "Signing-1"], Signing(withNext, next.UsedFrom));
        Assert.Equal(next.UsedFrom, KeyRotation.NextChange(withNext, publishAt));

        // No second next key while one is pending.
        Assert.Same(withNext, KeyRotation.Rotate(withNext, publishAt + TimeSpan.FromHours(12), Policy, NewKey));
    }

    [Fact]
    public void A_replaced_key_stays_until_the_tokens_it_signed_have_expired()
    {
        var set = KeyRotation.Rotate(new KeySet([]), T0, Policy, NewKey);
        set = KeyRotation.Rotate(set, T0 + Policy.RotateEvery - Policy.PublishAhead, Policy, NewKey);
        var takeover = T0 + Policy.RotateEvery;

        var justBefore = KeyRotation.Rotate(set, takeover + Policy.KeepAfterRetired - TimeSpan.FromSeconds(1), Policy, NewKey);
        Assert.Contains(justBefore.Keys, k => k.Kid == "Signing-1");

        var after = KeyRotation.Rotate(justBefore, takeover + Policy.KeepAfterRetired, Policy, NewKey);
        Assert.DoesNotContain(after.Keys, k => k.Kid == "Signing-1");
        Assert.DoesNotContain(after.Keys, k => k.Kid == "Encryption-2");
        Assert.Equal(2, after.Keys.Count(k => k.UsedFrom <= takeover + Policy.KeepAfterRetired));
    }

    [Fact]
    public void Every_key_is_published_for_at_least_the_publish_ahead_time_before_it_signs()
    {
        // Walk a year in six-hour steps, as the nodes' timers would, and check the promise at every step.
        var set = new KeySet([]);
        var firstSeen = new Dictionary<string, DateTimeOffset>();
        for (var now = T0; now < T0 + TimeSpan.FromDays(365); now += TimeSpan.FromHours(6))
        {
            set = KeyRotation.Rotate(set, now, Policy, NewKey);
            foreach (var kid in Signing(set, now))
            {
                firstSeen.TryAdd(kid, now);
            }

            var signer = Signing(set, now)[0];
            var signerKey = set.Keys.Single(k => k.Kid == signer);
            Assert.True(signerKey.UsedFrom == T0 || now - firstSeen[signer] >= Policy.PublishAhead, $"{signer} signs at {now} but was published at {firstSeen[signer]}");
        }

        Assert.True(firstSeen.Count >= 12, $"only {firstSeen.Count} signing keys in a year");
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(1, 1, 1)]
    [InlineData(2, 3, 1)]
    [InlineData(30, 1, 0)]
    public void Policies_that_cannot_keep_the_promise_are_refused(int rotateDays, int aheadDays, int keepDays) =>
        Assert.False(new KeyRotationPolicy(TimeSpan.FromDays(rotateDays), TimeSpan.FromDays(aheadDays), TimeSpan.FromDays(keepDays)).IsValid);
}
