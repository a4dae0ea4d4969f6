using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using Microsoft.Azure.Functions.Worker;

namespace FetchFunctions.Orchestration;

/// <summary>The Durable activities: bind the small Core record and the invocation's cancellation token, call Core.
/// Inputs and outputs are references and statistics only; URL lists and bodies stay in blobs.</summary>
public sealed class CrawlActivityFunctions
{
    private readonly ICrawlActivities _activities;

    public CrawlActivityFunctions(ICrawlActivities activities)
    {
        ArgumentNullException.ThrowIfNull(activities);
        _activities = activities;
    }

    [Function(CrawlFunctionNames.PlanActivity)]
    public Task<CrawlPlan> PlanCrawl([ActivityTrigger] JobTicket ticket, CancellationToken cancellationToken) =>
        _activities.PlanAsync(ticket, cancellationToken);

    [Function(CrawlFunctionNames.PlanRoundActivity)]
    public Task<CrawlPlan> PlanRound([ActivityTrigger] RoundTicket round, CancellationToken cancellationToken) =>
        _activities.PlanRoundAsync(round, cancellationToken);

    [Function(CrawlFunctionNames.FetchLaneActivity)]
    public Task<LaneProgress> FetchLane([ActivityTrigger] LaneWork lane, CancellationToken cancellationToken) =>
        _activities.FetchLaneAsync(lane, null, cancellationToken);

    [Function(CrawlFunctionNames.MergeShardIndexActivity)]
    public Task<long> MergeShardIndex([ActivityTrigger] ShardIndexWork work, CancellationToken cancellationToken) =>
        _activities.MergeShardIndexAsync(work, cancellationToken);

    [Function(CrawlFunctionNames.WriteSummaryActivity)]
    public Task<CrawlSummary> WriteSummary([ActivityTrigger] SummaryWork work, CancellationToken cancellationToken) =>
        _activities.WriteSummaryAsync(work, cancellationToken);
}
