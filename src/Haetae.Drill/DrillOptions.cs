namespace Haetae.Drill;

/// <summary>How a drill runs. The defaults end within three minutes on a 2-core machine.</summary>
public sealed class DrillOptions
{
    /// <summary>How many synthetic people. Default 24.</summary>
    public int People { get; set; } = 24;

    /// <summary>Messages per second each person sends on average. Default 2.</summary>
    public double MessagesPerPersonPerSecond { get; set; } = 2;

    /// <summary>Load before the fire. Default 20 s.</summary>
    public TimeSpan WarmUp { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Load while the site is down, before the rebuild starts. Default 30 s.</summary>
    public TimeSpan Burned { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Load after the rebuild completed. Default 20 s.</summary>
    public TimeSpan After { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The site to burn (or whose power to cut); null: the one leading the most shards when the fire starts.</summary>
    public string? Site { get; set; }

    /// <summary>Instead of burning a site, cut this one off from the other two (for the <see cref="Burned"/> phase), then heal.</summary>
    public string? Partition { get; set; }

    /// <summary>
    /// Instead of a fire, cut one site's power (<see cref="Site"/>, else the one leading the most shards): what
    /// it had not fsynced is gone; after the <see cref="Burned"/> phase it starts again on its own disk.
    /// </summary>
    public bool PowerCut { get; set; }

    /// <summary>Instead of a fire, cut every site's power at the same instant, then start them all on their disks.</summary>
    public bool Blackout { get; set; }

    /// <summary>
    /// Run nats-server with its default sync_interval (lazy fsync) instead of every write on disk before its
    /// acknowledgement: with a power cut or blackout, the drill shows what that loses.
    /// </summary>
    public bool LazyFsync { get; set; }

    /// <summary>
    /// A fire with warning: the alarm rings first at the site (<see cref="Site"/>, else the one leading the most
    /// shards), the drill waits until it is evacuated, then burns it; no send may then wait 1 s or more.
    /// </summary>
    public bool Warning { get; set; }

    /// <summary>How many fire-and-rebuild rounds (each burns a random site after the first). Default 1.</summary>
    public int Rounds { get; set; } = 1;

    /// <summary>Where the report (JSON and HTML) is written.</summary>
    public string ReportDirectory { get; set; } = "drill-report";

    public void Validate()
    {
        if (People is < 4 or > 1000)
        {
            throw new ArgumentException("people must be 4 to 1000");
        }

        if (MessagesPerPersonPerSecond is <= 0 or > 50)
        {
            throw new ArgumentException("the message rate must be above 0 and at most 50 per person per second");
        }

        if (new[] { Partition is not null, PowerCut, Blackout, Warning }.Count(x => x) > 1)
        {
            throw new ArgumentException("choose one of a partition, a power cut, a blackout and a fire with warning");
        }

        if (Blackout && Site is not null)
        {
            throw new ArgumentException("a blackout cuts every site; --site names one");
        }

        if (Rounds is < 1 or > 20)
        {
            throw new ArgumentException("rounds must be 1 to 20");
        }

        if (WarmUp < TimeSpan.Zero || Burned < TimeSpan.Zero || After < TimeSpan.Zero || WarmUp + Burned + After > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("phase lengths must be positive and at most an hour together");
        }
    }
}
