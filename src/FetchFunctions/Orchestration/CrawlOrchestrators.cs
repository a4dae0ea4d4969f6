using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace FetchFunctions.Orchestration;

/// <summary>The Durable orchestrators: each turns its trigger into Core's port and runs Core's orchestration logic.
/// A static class on purpose: an orchestrator must not depend on injected services (no I/O, no clock, no
/// cancellation token), and without a constructor there is nothing to inject.</summary>
public static class CrawlOrchestrators
{
    [Function(CrawlFunctionNames.JobOrchestrator)]
    public static Task<CrawlSummary> RunJob([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var ticket = context.GetInput<JobTicket>()
            ?? throw new InvalidOperationException($"Orchestration {context.InstanceId} has no job ticket input.");
        var port = new DurableCrawlOrchestrationContext(context);
        port.ReplaySafeLogger.JobOrchestrationStarted(ticket.JobId);
        return CrawlOrchestration.RunJobAsync(port, ticket);
    }

    [Function(CrawlFunctionNames.ShardOrchestrator)]
    public static Task<BatchStats> RunShard([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var shard = context.GetInput<ShardWork>()
            ?? throw new InvalidOperationException($"Orchestration {context.InstanceId} has no shard input.");
        var port = new DurableCrawlOrchestrationContext(context);
        port.ReplaySafeLogger.ShardOrchestrationStarted(shard.JobId, shard.ShardIndex, shard.BatchCount, shard.FirstBatch);
        return CrawlOrchestration.RunShardAsync(port, shard);
    }
}
