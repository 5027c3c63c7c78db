using System.CommandLine;
using System.Globalization;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;
using Haetae.Status;

namespace Haetae.Cli;

/// <summary>`haetae incidents`: the incident record of the running platform; `haetae incidents report ID` writes the regulator's report.</summary>
internal static class IncidentsCommand
{
    public static Command Create(Option<string> home, TextWriter output, TextWriter error, CancellationToken stopping)
    {
        var list = new Command("list", "List the incidents the platform recorded, newest first");
        list.SetAction(parse => HaetaeCommand.GuardAsync(error, stopping, async () =>
        {
            var incidents = await AdminCalls.CallAsync<List<IncidentView>>(parse.GetValue(home)!, HttpMethod.Get, "/api/status/incidents?limit=1000", null, stopping) ?? [];
            foreach (var i in incidents)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{i.Id}  {i.Stage,-13} {i.Start.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {(i.DurationSeconds is { } d ? $"{d,7:0.0} s" : "   open  ")}  {i.PeopleAffected,5} people  {i.Title}"));
            }

            if (incidents.Count == 0)
            {
                await output.WriteLineAsync("No incident recorded.");
            }

            return 0;
        }));

        var id = new Argument<string>("id") { Description = "The incident's id (from `haetae incidents list`)" };
        var into = new Option<string>("--out") { Description = "Folder to write incident-ID.html and incident-ID.md into", DefaultValueFactory = _ => "." };
        var report = new Command("report", "Write the regulator's report of one incident: a self-contained HTML page and the same in Markdown") { id, into };
        report.SetAction(parse => HaetaeCommand.GuardAsync(error, stopping, async () =>
        {
            var which = parse.GetValue(id)!;
            if (!which.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                throw new PlatformException($"'{which}' is not an incident id");
            }

            var incident = await AdminCalls.CallAsync<IncidentView>(parse.GetValue(home)!, HttpMethod.Get, $"/api/status/incidents/{which}", null, stopping)
                ?? throw new PlatformException($"no incident '{which}'");
            var samples = await AdminCalls.CallAsync<List<IncidentSample>>(parse.GetValue(home)!, HttpMethod.Get, $"/api/status/incidents/{which}/series", null, stopping) ?? [];
            var folder = Path.GetFullPath(parse.GetValue(into)!);
            Directory.CreateDirectory(folder);
            var html = Path.Combine(folder, $"incident-{incident.Id}.html");
            var md = Path.Combine(folder, $"incident-{incident.Id}.md");
            await File.WriteAllTextAsync(html, IncidentReport.Html(incident, samples), stopping);
            await File.WriteAllTextAsync(md, IncidentReport.Markdown(incident, samples), stopping);
            await output.WriteLineAsync($"{html}\n{md}");
            return 0;
        }));
        return new Command("incidents", "The platform's record of outages") { list, report };
    }
}
