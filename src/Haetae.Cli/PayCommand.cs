using System.CommandLine;
using System.Globalization;
using Haetae.Pay;
using Haetae.Platform.Monitoring;

namespace Haetae.Cli;

/// <summary>`haetae pay audit`: the whole ledger read and checked by a site of the running platform; exit code 1 on any violation.</summary>
internal static class PayCommand
{
    public static Command Create(Option<string> home, TextWriter output, TextWriter error, CancellationToken stopping)
    {
        var audit = new Command("audit", "Read the whole ledger and check it: double entry, every balance the fold of its entries, none below zero, ids used once; exit code 1 on any violation");
        audit.SetAction(parse => HaetaeCommand.GuardAsync(error, stopping, async () =>
        {
            var report = await AdminCalls.CallAsync<AuditReport>(parse.GetValue(home)!, HttpMethod.Get, "/admin/pay/audit", null, stopping)
                ?? throw new PlatformException("the audit answered nothing");
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{report.Transfers} transfers, {report.Accounts} accounts, {report.Entries} entries; balances sum to ₩{report.SumOfBalances:N0}; ₩{report.PendingHeld:N0} held"));
            foreach (var violation in report.Violations)
            {
                await output.WriteLineAsync($"VIOLATION {violation}");
            }

            await output.WriteLineAsync(report.Sound ? "The ledger is sound." : $"{report.Violations.Count} violations.");
            return report.Sound ? 0 : 1;
        }));
        return new Command("pay", "Haetae Pay's ledger") { audit };
    }
}
