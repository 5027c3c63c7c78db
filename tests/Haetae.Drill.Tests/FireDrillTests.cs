namespace Haetae.Drill.Tests;

/// <summary>The same drill `haetae drill` runs, short: one fire and one rebuild, or one partition, every promise checked.</summary>
public sealed class FireDrillTests
{
    [Fact]
    public async Task A_short_drill_with_one_fire_and_one_rebuild_keeps_every_promise()
    {
        var ct = TestContext.Current.CancellationToken;
        await InWorkFolderAsync(async (work, options) =>
        {
            options.Burned = TimeSpan.FromSeconds(8);
            var report = await DrillRunner.RunAsync(options, work, line => TestContext.Current.SendDiagnosticMessage(line), ct);
            var (json, html) = await DrillReportWriter.WriteAsync(report, options.ReportDirectory, ct);

            Assert.True(report.AllKept, DrillReportWriter.Summary(report));
            Assert.Single(report.Rounds);
            Assert.True(Check(report, c => c.Promise == AllAcknowledgedStored).Checked > 50, "the load should have produced acknowledged messages");
            Assert.Contains(report.Marks, m => m.What.StartsWith("fire: ", StringComparison.Ordinal));
            Assert.Contains("\"allKept\": true", await File.ReadAllTextAsync(json, ct), StringComparison.Ordinal);
            Assert.Contains("<svg", await File.ReadAllTextAsync(html, ct), StringComparison.Ordinal);
            Assert.DoesNotContain(Directory.EnumerateDirectories(work), d => Path.GetFileName(d).StartsWith("drill-", StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task A_short_partition_keeps_every_promise_and_the_cut_off_site_acknowledges_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await InWorkFolderAsync(async (work, options) =>
        {
            options.Burned = TimeSpan.FromSeconds(10);
            options.Partition = "ansan";
            var report = await DrillRunner.RunAsync(options, work, line => TestContext.Current.SendDiagnosticMessage(line), ct);

            Assert.True(report.AllKept, DrillReportWriter.Summary(report));
            Assert.Empty(report.Rounds);
            var cut = Assert.Single(report.Cuts);
            // Timers fire on a millisecond tick, up to a tick before the drill's stopwatch says the time is up.
            Assert.True(cut.To - cut.From >= options.Burned - TimeSpan.FromMilliseconds(20), $"the cut lasted {(cut.To - cut.From).TotalSeconds:0.000} s");
            Assert.True(Check(report, c => c.Promise.StartsWith("a cut-off site acknowledged no write", StringComparison.Ordinal)).Checked > 50, "the load should have produced acknowledged messages");
            Assert.True(Check(report, c => c.Service == "profile" && c.Promise.StartsWith("every friend saw", StringComparison.Ordinal)).Checked > 50, "friends should have looked at profiles");
        });
    }

    [Fact]
    public Task A_short_blackout_loses_no_acknowledged_write_when_every_write_is_on_disk_first() =>
        PowerCutDrillAsync(options => options.Blackout = true, report =>
        {
            Assert.True(report.AllKept, DrillReportWriter.Summary(report));
            Assert.Equal(3, Assert.Single(report.PowerCuts).Sites.Count);
            Assert.True(Check(report, c => c.Promise.StartsWith("every stream's replicas hold the same", StringComparison.Ordinal)).Checked > 10, "every stream should have been compared");
        });

    [Fact]
    public Task A_short_blackout_with_lazy_fsync_is_caught_losing_acknowledged_writes() =>
        PowerCutDrillAsync(options => (options.Blackout, options.LazyFsync) = (true, true), report =>
        {
            Assert.All(report.Servers, s => Assert.False(s.SyncAlways));
            Assert.True(Check(report, c => c.Promise == AllAcknowledgedStored).Violations > 0, DrillReportWriter.Summary(report));
        });

    [Fact]
    public Task A_short_power_cut_of_one_site_keeps_every_promise_and_its_replicas_agree_after() =>
        PowerCutDrillAsync(options => (options.PowerCut, options.Burned) = (true, TimeSpan.FromSeconds(8)), report =>
        {
            Assert.True(report.AllKept, DrillReportWriter.Summary(report));
            Assert.Single(Assert.Single(report.PowerCuts).Sites);
        });

    [Fact]
    public async Task A_short_fire_with_warning_evacuates_the_site_first_and_no_send_waits_a_second()
    {
        var ct = TestContext.Current.CancellationToken;
        await InWorkFolderAsync(async (work, options) =>
        {
            options.Burned = TimeSpan.FromSeconds(5);
            options.Warning = true;
            var report = await DrillRunner.RunAsync(options, work, line => TestContext.Current.SendDiagnosticMessage(line), ct);

            Assert.True(report.AllKept, DrillReportWriter.Summary(report));
            Assert.Single(report.Rounds);
            var evacuated = report.Marks.Single(m => m.What.StartsWith("evacuated: ", StringComparison.Ordinal)).At;
            Assert.True(evacuated <= report.Marks.Single(m => m.What.StartsWith("fire: ", StringComparison.Ordinal)).At, "the fire comes after the evacuation");
            Assert.True(Check(report, c => c.Promise.StartsWith("with warning no send waited", StringComparison.Ordinal)).Checked > 20, "sends should have been made through the alarm and the fire");
        });
    }

    private const string AllAcknowledgedStored = "every acknowledged message is in the history";

    /// <summary>The one check of <paramref name="report"/> that <paramref name="which"/> picks; a report without it fails with its summary (a phase that failed says which, and why).</summary>
    private static PromiseCheck Check(DrillReport report, Func<PromiseCheck, bool> which) =>
        report.Checks.Where(which).ToList() switch
        {
            [var check] => check,
            var found => throw new Xunit.Sdk.XunitException($"the report has {found.Count} such checks, not one:{Environment.NewLine}{DrillReportWriter.Summary(report)}"),
        };

    /// <summary>A short drill with power cuts (the power off for 3 s unless <paramref name="configure"/> says otherwise), then <paramref name="check"/>.</summary>
    private static Task PowerCutDrillAsync(Action<DrillOptions> configure, Action<DrillReport> check) =>
        InWorkFolderAsync(async (work, options) =>
        {
            options.Burned = TimeSpan.FromSeconds(3);
            configure(options);
            var report = await DrillRunner.RunAsync(options, work, line => TestContext.Current.SendDiagnosticMessage(line), TestContext.Current.CancellationToken);

            // About 13 acknowledged a second before the cut with 8 people.
            Assert.True(Check(report, c => c.Promise == AllAcknowledgedStored).Checked > 20, "the load should have produced acknowledged messages");
            check(report);
        });

    /// <summary>Runs <paramref name="drill"/> with short phases and a folder of its own, removed afterwards.</summary>
    private static async Task InWorkFolderAsync(Func<string, DrillOptions, Task> drill)
    {
        var work = Path.Combine(Path.GetTempPath(), $"haetae-drill-{Guid.NewGuid():N}");
        var options = new DrillOptions
        {
            People = 8,
            WarmUp = TimeSpan.FromSeconds(5),
            After = TimeSpan.FromSeconds(5),
            ReportDirectory = Path.Combine(work, "report"),
        };
        try
        {
            await drill(work, options);
        }
        catch (Exception e) when (Directory.Exists(options.ReportDirectory))
        {
            // A broken promise leaves the processes' logs with the report: keep them for whoever reads the failure.
            var kept = Path.Combine(AppContext.BaseDirectory, "TestResults", $"drill-{Guid.NewGuid():N}");
            Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
            Directory.Move(options.ReportDirectory, kept);
            throw new Xunit.Sdk.XunitException($"{e.Message}{Environment.NewLine}(the report and the logs are kept in {kept})", e);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
