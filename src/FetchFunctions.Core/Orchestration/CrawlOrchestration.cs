using System.Globalization;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The orchestration logic of a crawl job, shared by the Durable orchestrators and the in-process runner.
/// It is replayed, so it is deterministic: time only from <see cref="ICrawlOrchestrationContext.CurrentUtcDateTime"/>,
/// no I/O, no randomness, no cancellation token, logging only through the replay-safe logger; calls are scheduled in a
/// fixed order and results merged in the order they complete (which the history records).</summary>
public static partial class CrawlOrchestration
{
    /// <summary>Plans the job, fetches its batches with at most <see cref="CrawlPlan.MaxBatchesInFlight"/> in flight
    /// (directly, or through shard sub-orchestrations when the job has more than one shard), then writes the summary.</summary>
    public static async Task<CrawlSummary> RunJobAsync(ICrawlOrchestrationContext context, JobTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(ticket);
        var logger = context.ReplaySafeLogger;
        var startedAt = context.CurrentUtcDateTime;
        var plan = await context.CallActivityAsync<CrawlPlan>(CrawlFunctionNames.PlanActivity, ticket);
        LogPlanned(logger, plan.JobId, plan.UrlCount, plan.BatchCount, plan.ShardCount, plan.MaxBatchesInFlight);
        context.SetCustomStatus(new CrawlProgress(0, plan.BatchCount, 0, plan.UrlCount, 0));

        void Report(BatchStats totals) =>
            context.SetCustomStatus(new CrawlProgress(totals.Batches, plan.BatchCount, totals.Urls, plan.UrlCount, totals.Bytes));

        BatchStats totals;
        if (plan.ShardCount <= 1)
        {
            totals = await FanOutAsync(plan.BatchCount, plan.MaxBatchesInFlight,
                index => context.CallActivityAsync<BatchStats>(CrawlFunctionNames.FetchBatchActivity,
                    new BatchWork(plan.JobId, index, plan.BatchesPerShard) { PlanId = plan.PlanId }),
                Report);
        }
        else
        {
            var shards = Shards(plan);
            totals = await FanOutAsync(shards.Count, ShardsInFlight(plan),
                index => context.CallSubOrchestratorAsync<BatchStats>(
                    CrawlFunctionNames.ShardOrchestrator, ShardInstanceId(plan.JobId, index), shards[index]),
                Report);
        }

        var finishedAt = context.CurrentUtcDateTime;
        var summary = await context.CallActivityAsync<CrawlSummary>(
            CrawlFunctionNames.WriteSummaryActivity, new SummaryWork(plan.JobId, totals, startedAt, finishedAt, plan.DuplicatesRemoved));
        LogCompleted(logger, plan.JobId, summary.Total, summary.Succeeded, summary.Failed);
        return summary;
    }

    /// <summary>Fetches a shard's batches with at most <see cref="ShardWork.MaxBatchesInFlight"/> in flight and returns
    /// their merged statistics.</summary>
    public static async Task<BatchStats> RunShardAsync(ICrawlOrchestrationContext context, ShardWork shard)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(shard);
        context.SetCustomStatus(new CrawlProgress(0, shard.BatchCount, 0, shard.UrlCount, 0));
        var totals = await FanOutAsync(shard.BatchCount, shard.MaxBatchesInFlight,
            index => context.CallActivityAsync<BatchStats>(
                CrawlFunctionNames.FetchBatchActivity, new BatchWork(shard.JobId, shard.FirstBatch + index, shard.BatchesPerShard) { PlanId = shard.PlanId }),
            totals => context.SetCustomStatus(new CrawlProgress(totals.Batches, shard.BatchCount, totals.Urls, shard.UrlCount, totals.Bytes)));
        LogShardCompleted(context.ReplaySafeLogger, shard.JobId, shard.ShardIndex, totals.Batches, totals.Urls);
        return totals;
    }

    /// <summary>The shard sub-orchestration's instance id: derived from the job id, so a replay schedules the same one.</summary>
    public static string ShardInstanceId(string jobId, int shardIndex) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}:shard:{shardIndex:D4}");

    /// <summary>The shards of a plan. The job's window of <see cref="CrawlPlan.MaxBatchesInFlight"/> batches is shared
    /// equally among the shards in flight, so the job never has more batches in flight than its window.</summary>
    internal static IReadOnlyList<ShardWork> Shards(CrawlPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var perShardWindow = Math.Max(1, plan.MaxBatchesInFlight / ShardsInFlight(plan));
        var shards = new List<ShardWork>(plan.ShardCount);
        for (var index = 0; index < plan.ShardCount; index++)
        {
            var (first, count) = BatchLayout.ShardBatches(plan, index);
            shards.Add(new ShardWork(plan.JobId, index, plan.BatchesPerShard, count, Math.Min(perShardWindow, count))
            {
                UrlCount = BatchLayout.UrlsInBatches(plan.UrlCount, plan.BatchCount, first, count),
                PlanId = plan.PlanId,
            });
        }

        return shards;
    }

    /// <summary>The largest divisor of the job's window that is at most the shard count: each shard in flight then gets
    /// an equal share of the window, and together they keep exactly the window's batches in flight.</summary>
    internal static int ShardsInFlight(CrawlPlan plan)
    {
        var window = Math.Max(1, plan.MaxBatchesInFlight);
        for (var shards = Math.Min(plan.ShardCount, window); shards > 1; shards--)
        {
            if (window % shards == 0)
            {
                return shards;
            }
        }

        return 1;
    }

    /// <summary>Starts up to <paramref name="window"/> calls, and the next one each time one completes, in index order.
    /// Results are merged as they complete; a failed call fails the whole fan-out.</summary>
    private static async Task<BatchStats> FanOutAsync(int count, int window, Func<int, Task<BatchStats>> start, Action<BatchStats> progress)
    {
        window = Math.Max(1, window);
        var inFlight = new List<Task<BatchStats>>(Math.Min(window, count));
        var next = 0;
        while (next < count && inFlight.Count < window)
        {
            inFlight.Add(start(next++));
        }

        var totals = BatchStats.Empty;
        while (inFlight.Count > 0)
        {
            var completed = await Task.WhenAny(inFlight);
            inFlight.Remove(completed);
            totals = BatchStats.Merge(totals, await completed);
            progress(totals);
            if (next < count)
            {
                inFlight.Add(start(next++));
            }
        }

        return totals;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Crawl {JobId} planned: {UrlCount} URLs in {BatchCount} batches, {ShardCount} shards, {MaxBatchesInFlight} batches in flight")]
    private static partial void LogPlanned(ILogger logger, string jobId, int urlCount, int batchCount, int shardCount, int maxBatchesInFlight);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} shard {ShardIndex} done: {Batches} batches, {Urls} URLs")]
    private static partial void LogShardCompleted(ILogger logger, string jobId, int shardIndex, int batches, long urls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} done: {Total} URLs, {Succeeded} succeeded, {Failed} failed")]
    private static partial void LogCompleted(ILogger logger, string jobId, long total, long succeeded, long failed);
}
