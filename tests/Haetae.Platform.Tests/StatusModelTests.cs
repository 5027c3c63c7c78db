using Haetae.Contracts;
using Haetae.Platform.Hosting;
using Haetae.Platform.Monitoring;
using Haetae.Status;

namespace Haetae.Platform.Tests;

/// <summary>The status page's rules, each from one reading of the platform and the nodes' traffic.</summary>
public sealed class StatusModelTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] Sites = ["pangyo", "chuncheon", "ansan"];
    private static readonly ServiceSurface[] Services =
    [
        new("chat", "Chat", "채팅", ["/api/chats"], ["CHAT_00", "KV_chats"]),
        new("pay", "Pay", "페이", ["/api/pay"], ["PAY"]),
    ];

    private static ClusterStatus Status(Func<string, bool>? answers = null, IReadOnlyList<LaggingReplica>? behind = null) => new(
        "pangyo",
        [.. Sites.Select(s => new SiteStatus(s, SiteState.Running, [], answers?.Invoke(s) ?? true, new ServerHealth(true, null), true, 1, 1, 0))],
        [.. new[] { "CHAT_00", "KV_chats", "PAY" }.Select(a => new AssetPlacement(a, "pangyo", Sites, 10))],
        behind ?? [],
        [],
        Sites);

    private static TrafficReport Report(
        string site, IReadOnlyList<TrafficSecond>? seconds = null, bool isolated = false, bool evacuating = false, DateTimeOffset? isolatedSince = null,
        IReadOnlyDictionary<string, int>? oldest = null, IReadOnlyDictionary<string, int>? stuck = null) =>
        new(site, At, isolated, evacuating, isolatedSince, seconds ?? [], oldest ?? new Dictionary<string, int>(), [], stuck);

    private static Dictionary<string, TrafficReport?> Traffic(params TrafficReport[] changed) =>
        Sites.ToDictionary(s => s, s => (TrafficReport?)(changed.FirstOrDefault(r => r.Site == s) ?? Report(s)));

    private static ComponentState State(Assessment a, string id) => a.Components.Single(c => c.Id == id).State;

    [Fact]
    public void Everything_answering_is_operational_with_no_cause()
    {
        var a = StatusModel.Assess(At, Status(), Traffic(), Services, []);

        Assert.Equal(Sites.Length * 3, a.Components.Count);
        Assert.True(a.AllOperational);
        Assert.Empty(a.Causes);
        Assert.True(a.AllLeaders);
    }

    [Fact]
    public void A_site_that_stops_answering_is_a_major_outage_of_it_and_its_services_and_one_cause_dated_at_the_reading()
    {
        var traffic = Traffic();
        traffic["ansan"] = null;
        var a = StatusModel.Assess(At, Status(s => s != "ansan"), traffic, Services, []);

        Assert.Equal(ComponentState.MajorOutage, State(a, "site@ansan"));
        Assert.Equal(ComponentState.MajorOutage, State(a, "pay@ansan"));
        Assert.Equal(ComponentState.Operational, State(a, "chat@pangyo"));
        var cause = Assert.Single(a.Causes);
        Assert.Equal(("site.ansan", "lost", At), (cause.Key, cause.Kind, cause.Since));
        Assert.False(a.FullRedundancy);
    }

    [Fact]
    public void A_cut_off_site_is_dated_by_its_own_node_from_when_it_found_itself_cut_off()
    {
        var since = At.AddSeconds(-3);
        var a = StatusModel.Assess(At, Status(), Traffic(Report("ansan", isolated: true, isolatedSince: since)), Services, []);

        var cause = Assert.Single(a.Causes);
        Assert.Equal(("site.ansan", "cut-off", since), (cause.Key, cause.Kind, cause.Since));
        Assert.Equal(ComponentState.MajorOutage, State(a, "chat@ansan"));
    }

    [Fact]
    public void Error_rates_degrade_a_service_at_a_site_or_take_it_partly_out_with_a_cause_of_its_own()
    {
        var second = At.ToUnixTimeSeconds();
        var failing = StatusModel.Assess(At, Status(), Traffic(Report("chuncheon", [new(second, "pay", 10, 3, 0, 0)])), Services, []);
        var degraded = StatusModel.Assess(At, Status(), Traffic(Report("chuncheon", [new(second, "pay", 20, 2, 0, 0)])), Services, []);
        var tooFew = StatusModel.Assess(At, Status(), Traffic(Report("chuncheon", [new(second, "pay", 3, 3, 0, 0)])), Services, []);
        var old = StatusModel.Assess(At, Status(), Traffic(Report("chuncheon", [new(second - StatusModel.WindowSeconds, "pay", 10, 10, 0, 0)])), Services, []);

        Assert.Equal(ComponentState.PartialOutage, State(failing, "pay@chuncheon"));
        Assert.Equal("service.pay", Assert.Single(failing.Causes).Key);
        Assert.Equal(ComponentState.DegradedPerformance, State(degraded, "pay@chuncheon"));
        Assert.Empty(degraded.Causes);
        Assert.True(tooFew.AllOperational);
        Assert.True(old.AllOperational);
    }

    [Fact]
    public void Two_writes_waiting_past_5_s_are_a_partial_outage_one_only_degrades_and_a_stream_without_a_leader_pauses_its_service_everywhere_without_a_cause_of_its_own()
    {
        var waiting = StatusModel.Assess(At, Status(), Traffic(Report("pangyo", oldest: new Dictionary<string, int> { ["chat"] = 6_000 }, stuck: new Dictionary<string, int> { ["chat"] = 2 })), Services, []);
        var one = StatusModel.Assess(At, Status(), Traffic(Report("pangyo", oldest: new Dictionary<string, int> { ["chat"] = 6_000 }, stuck: new Dictionary<string, int> { ["chat"] = 1 })), Services, []);
        var electing = StatusModel.Assess(At, Status(behind: [new LaggingReplica("PAY", "ansan", "no leader (election under way)")]), Traffic(), Services, []);
        var thin = StatusModel.Assess(At, Status(behind: [new LaggingReplica("KV_chats", "ansan", "offline (not heard from for 9 s)")]), Traffic(), Services, []);

        Assert.Equal(ComponentState.PartialOutage, State(waiting, "chat@pangyo"));
        Assert.Contains("writes waited 6.0 s", waiting.Components.Single(c => c.Id == "chat@pangyo").Reason, StringComparison.Ordinal);
        Assert.Equal(ComponentState.DegradedPerformance, State(one, "chat@pangyo"));
        Assert.Empty(one.Causes);
        Assert.All(Sites, s => Assert.Equal(ComponentState.PartialOutage, State(electing, $"pay@{s}")));
        Assert.Empty(electing.Causes);
        Assert.False(electing.AllLeaders);
        Assert.All(Sites, s => Assert.Equal(ComponentState.DegradedPerformance, State(thin, $"chat@{s}")));
        Assert.Equal(ComponentState.Operational, State(thin, "pay@ansan"));
    }

    [Fact]
    public void Maintenance_and_evacuation_are_under_maintenance_and_open_nothing()
    {
        var maintenance = new MaintenanceView("m1", "disks", At.AddMinutes(-1), At.AddMinutes(30), ["chat@pangyo"], At);
        var a = StatusModel.Assess(At, Status(), Traffic(Report("ansan", [new(At.ToUnixTimeSeconds(), "chat", 10, 10, 0, 0)], evacuating: true)), Services, [maintenance]);

        Assert.Equal(ComponentState.UnderMaintenance, State(a, "chat@pangyo"));
        Assert.Equal(ComponentState.UnderMaintenance, State(a, "site@ansan"));
        Assert.Equal(ComponentState.UnderMaintenance, State(a, "chat@ansan"));
        Assert.Empty(a.Causes);
        Assert.Equal(ComponentState.UnderMaintenance, StatusModel.Worst([ComponentState.Operational, ComponentState.UnderMaintenance]));
        Assert.Equal(ComponentState.PartialOutage, StatusModel.Worst([ComponentState.UnderMaintenance, ComponentState.PartialOutage]));
    }

    [Fact]
    public void People_are_told_of_an_open_incident_then_of_its_end_for_an_hour_and_how_to_claim_damages_for_30_days()
    {
        var update = new IncidentUpdate("lost", At, IncidentStage.Investigating, "ansan stopped answering", "ansan 응답 없음", "platform");
        var open = new IncidentView("i1", "site.ansan", "ansan stopped answering", "ansan 응답 없음", IncidentImpact.Major, IncidentStage.Investigating, At, At, null,
            new Dictionary<string, ComponentState>(), ["chat"], ["ansan"], 0, [], [update], null, null);
        var ended = open with { End = At.AddMinutes(10), Stage = IncidentStage.Resolved };

        Assert.Equal([NoticeKind.Incident], StatusCache.NoticesAt([open], At.AddMinutes(1)).Select(n => n.Kind));
        Assert.Equal([NoticeKind.Resolved, NoticeKind.Damages], StatusCache.NoticesAt([ended], At.AddMinutes(20)).Select(n => n.Kind));
        Assert.Equal([NoticeKind.Damages], StatusCache.NoticesAt([ended], At.AddDays(2)).Select(n => n.Kind));
        Assert.Empty(StatusCache.NoticesAt([ended], At.AddDays(31)));
        Assert.Empty(StatusCache.NoticesAt([open with { Impact = IncidentImpact.None }], At));
    }

    [Fact]
    public void Webhook_signatures_are_hmac_sha256_of_the_time_and_body_and_retries_back_off_to_ten_minutes()
    {
        var secret = Convert.ToBase64String("key-of-32-bytes-for-the-webhook!"u8.ToArray());
        var signature = Webhooks.Sign(secret, 1_700_000_000, "{}"u8.ToArray());

        Assert.Equal($"t=1700000000,v1={Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("key-of-32-bytes-for-the-webhook!"u8, "1700000000.{}"u8))}", signature);
        Assert.Equal([1, 2, 4, 8], Enumerable.Range(1, 4).Select(a => Webhooks.BackOff(a).TotalSeconds));
        Assert.Equal(Webhooks.MaxBackOff, Webhooks.BackOff(30));
    }
}
