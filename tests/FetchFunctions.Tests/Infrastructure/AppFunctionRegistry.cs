using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using FetchFunctions.Orchestration;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Tests.Infrastructure;

/// <summary>The app's orchestrators and activity functions registered under their function names in a Durable test host,
/// as the Functions worker runs them. Shared by the app's tests and the benchmark's durable part (linked there).</summary>
internal static class AppFunctionRegistry
{
    public static void Register(DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        // The input type tells the worker what to deserialise the input as; the app's method reads it with GetInput<T>().
        registry.AddOrchestratorFunc<JobTicket, CrawlSummary>(CrawlFunctionNames.JobOrchestrator, (context, _) => CrawlOrchestrators.RunJob(context));
        registry.AddOrchestratorFunc<ShardWork, BatchStats>(CrawlFunctionNames.ShardOrchestrator, (context, _) => CrawlOrchestrators.RunShard(context));
        registry.AddActivity(CrawlFunctionNames.PlanActivity, services =>
            new AppActivity<JobTicket, CrawlPlan>(services, (f, input, token) => f.PlanCrawl(input, token)));
        registry.AddActivity(CrawlFunctionNames.PlanRoundActivity, services =>
            new AppActivity<RoundTicket, CrawlPlan>(services, (f, input, token) => f.PlanRound(input, token)));
        registry.AddActivity(CrawlFunctionNames.FetchLaneActivity, services =>
            new AppActivity<LaneWork, LaneProgress>(services, (f, input, token) => f.FetchLane(input, token)));
        registry.AddActivity(CrawlFunctionNames.MergeShardIndexActivity, services =>
            new AppActivity<ShardIndexWork, long>(services, (f, input, token) => f.MergeShardIndex(input, token)));
        registry.AddActivity(CrawlFunctionNames.WriteSummaryActivity, services =>
            new AppActivity<SummaryWork, CrawlSummary>(services, (f, input, token) => f.WriteSummary(input, token)));
    }

    /// <summary>A Durable activity that runs the app's activity function, activated per call from the worker's services
    /// as the Functions worker does.</summary>
    private sealed class AppActivity<TInput, TOutput>(
        IServiceProvider services, Func<CrawlActivityFunctions, TInput, CancellationToken, Task<TOutput>> call) : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) =>
            call(ActivatorUtilities.CreateInstance<CrawlActivityFunctions>(services), input, CancellationToken.None);
    }
}
