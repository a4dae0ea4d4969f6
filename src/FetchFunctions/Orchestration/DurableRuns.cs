using FetchFunctions.Core.Orchestration;
using Microsoft.DurableTask.Client;

namespace FetchFunctions.Orchestration;

/// <summary>Durable instance metadata in Core's terms; the rules themselves are <see cref="JobRuns"/>.</summary>
internal static class DurableRuns
{
    /// <summary>The job's orchestration; null when <paramref name="id"/> names no job (a shard's id, for one) or no
    /// orchestration exists for it.</summary>
    public static async Task<OrchestrationMetadata?> FindJobAsync(
        this DurableTaskClient client, string id, bool getInputsAndOutputs, CancellationToken cancellationToken) =>
        JobRuns.IsJobId(id) ? await client.GetInstanceAsync(id, getInputsAndOutputs, cancellationToken) : null;

    public static PriorRun PriorRunOf(OrchestrationMetadata? instance) => instance?.RuntimeStatus switch
    {
        null => PriorRun.None,
        OrchestrationRuntimeStatus.Completed => PriorRun.Completed,
        OrchestrationRuntimeStatus.Failed => PriorRun.Failed,
        OrchestrationRuntimeStatus.Terminated => PriorRun.Terminated,
        _ => PriorRun.Active,
    };

    /// <summary>Terminates the job's shard orchestrations that are still running. Recursive termination of the job
    /// should reach them already, but not every backend honours it (the in-process test host does not), and a shard left
    /// running goes on fetching for a job that was cancelled. Shard ids are <see cref="CrawlOrchestration.ShardInstanceId"/>.</summary>
    public static async Task TerminateShardsAsync(this DurableTaskClient client, string jobId, string reason, CancellationToken cancellationToken)
    {
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = ShardIdPrefix(jobId),
            Statuses = [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended],
        };
        await foreach (var shard in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            await client.TerminateInstanceAsync(shard.InstanceId, new TerminateInstanceOptions { Output = reason }, cancellationToken);
        }
    }

    /// <summary>What every shard id of the job starts with: <see cref="CrawlOrchestration.ShardInstanceId"/> without
    /// its index.</summary>
    internal static string ShardIdPrefix(string jobId)
    {
        var first = CrawlOrchestration.ShardInstanceId(jobId, 0);
        return first[..first.LastIndexOf(':')] + ":";
    }

    /// <summary>The status's name (Enum.GetName: the enum has obsolete members a switch would have to name).</summary>
    public static string StatusName(OrchestrationMetadata instance) => Enum.GetName(instance.RuntimeStatus) ?? "Unknown";
}
