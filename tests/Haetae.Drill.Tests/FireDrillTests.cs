namespace Haetae.Drill.Tests;

/// <summary>The same drill `haetae drill` runs, short: one fire, one rebuild, every promise checked.</summary>
public sealed class FireDrillTests
{
    [Fact]
    public async Task A_short_drill_with_one_fire_and_one_rebuild_keeps_every_promise()
    {
        var ct = TestContext.Current.CancellationToken;
        var work = Path.Combine(Path.GetTempPath(), $"haetae-drill-{Guid.NewGuid():N}");
        var options = new DrillOptions
        {
            People = 8,
            WarmUp = TimeSpan.FromSeconds(5),
            Burned = TimeSpan.FromSeconds(8),
            After = TimeSpan.FromSeconds(5),
            ReportDirectory = Path.Combine(work, "report"),
        };
        try
        {
            var report = await DrillRunner.RunAsync(options, work, line => TestContext.Current.SendDiagnosticMessage(line), ct);
            var (json, html) = await DrillReportWriter.WriteAsync(report, options.ReportDirectory, ct);

            Assert.True(report.AllKept, DrillReportWriter.Summary(report));
            Assert.Single(report.Rounds);
            Assert.True(report.Checks.Single(c => c.Promise == "every acknowledged message is in the history").Checked > 50, "the load should have produced acknowledged messages");
            Assert.Contains(report.Marks, m => m.What.StartsWith("fire: ", StringComparison.Ordinal));
            Assert.Contains("\"allKept\": true", await File.ReadAllTextAsync(json, ct), StringComparison.Ordinal);
            Assert.Contains("<svg", await File.ReadAllTextAsync(html, ct), StringComparison.Ordinal);
            Assert.DoesNotContain(Directory.EnumerateDirectories(work), d => Path.GetFileName(d).StartsWith("drill-", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
