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

    /// <summary>The status's name (Enum.GetName: the enum has obsolete members a switch would have to name).</summary>
    public static string StatusName(OrchestrationMetadata instance) => Enum.GetName(instance.RuntimeStatus) ?? "Unknown";
}
