using System.Text;
using Haetae.Platform.Monitoring;

namespace Haetae.Cli;

/// <summary>Renders a <see cref="ClusterStatus"/> as the text `haetae status` prints.</summary>
internal static class StatusReport
{
    public static string Render(ClusterStatus status)
    {
        var text = new StringBuilder();
        text.AppendLine($"JetStream meta leader: {status.MetaLeader ?? "none (no quorum?)"}");
        text.AppendLine();
        text.AppendLine($"{"site",-12} {"state",-9} {"nats-server",-18} {"processes",-42} {"leaders (streams/kv/obj)",-25} health");
        foreach (var site in status.Sites)
        {
            var state = site.State == SiteState.Evacuated && site.Up ? "evacuated"
                : site.Up ? "up" : site.State == SiteState.Running ? "down" : site.State.ToString().ToLowerInvariant();
            var processes = string.Join(", ", site.Processes.Select(p => $"{p.Role} {p.Pid} {(p.Alive ? "alive" : "dead")}"));
            var leaders = site.ServerAnswers ? $"{site.StreamLeaders}/{site.KvLeaders}/{site.ObjectStoreLeaders}" : "-";
            var health = site.ServerHealth switch
            {
                null => "server not answering",
                { Ok: true } => site.NodeReady ? "ok" : "server ok, node not ready",
                { Error: var e } => e ?? "unhealthy",
            };
            var server = site.ServerVersion is null ? "-" : $"{site.ServerVersion} {(site.SyncAlways == true ? "fsync" : "lazy")}";
            text.AppendLine($"{site.Name,-12} {state,-9} {server,-18} {processes,-42} {leaders,-25} {health}");
        }

        text.AppendLine("(nats-server: its version, and \"fsync\" when every write is on its disk before it is acknowledged)");
        text.AppendLine();
        if (status.Behind.Count == 0 && status.MissingAssets.Count == 0)
        {
            text.AppendLine("Replicas behind: none");
        }
        else
        {
            text.AppendLine("Replicas behind:");
            foreach (var replica in status.Behind)
            {
                text.AppendLine($"  {replica.Stream} at {replica.Site}: {replica.Reason}");
            }

            foreach (var missing in status.MissingAssets)
            {
                text.AppendLine($"  {missing}: not found on any server");
            }
        }

        text.AppendLine($"Full redundancy: {(status.FullyReplicated ? "yes" : "no")}");
        return text.ToString();
    }
}
