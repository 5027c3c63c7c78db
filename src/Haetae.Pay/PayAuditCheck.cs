using Haetae.Contracts;
using Haetae.Platform;

namespace Haetae.Pay;

/// <summary>The pay audit as an incident's check of acknowledged writes: every transfer read back and checked; each violation counts as a write lost.</summary>
internal sealed class PayAuditCheck(Ledger ledger, TimeProvider time) : IAcknowledgedWritesCheck
{
    public string Name => "pay audit";

    public async Task<WritesLost> CheckAsync(CancellationToken cancellationToken)
    {
        var audit = await ledger.AuditAsync(cancellationToken);
        return new WritesLost(Name, audit.Transfers, audit.Violations.Count, time.GetUtcNow());
    }
}
