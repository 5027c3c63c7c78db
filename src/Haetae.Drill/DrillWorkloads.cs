namespace Haetae.Drill;

/// <summary>Every service's workload, one line each: the drill runs them all and checks what each reports.</summary>
internal static class DrillWorkloads
{
    public static IEnumerable<IDrillWorkload> All() => [new ChatWorkload(), new ProfileWorkload(), new LoginWorkload(), new PayWorkload(), new GiftWorkload(), new RideWorkload()];
}
