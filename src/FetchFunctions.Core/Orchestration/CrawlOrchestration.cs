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
    /// (directly, or through shard sub-orchestrations when the job has more than one shard), then writes the summary.
    /// At most one batch of a lane (consecutive batches that alone hold their hosts, see <see cref="BatchLayout"/>) is in
    /// flight at a time: with shards, two shards that share a lane never run at the same time.</summary>
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
            totals = await FanOutAsync(BatchLayout.Streams(plan.Lanes, plan.BatchCount), plan.MaxBatchesInFlight,
                index => context.CallActivityAsync<BatchStats>(CrawlFunctionNames.FetchBatchActivity,
                    new BatchWork(plan.JobId, index, plan.BatchesPerShard) { PlanId = plan.PlanId }),
                Report);
        }
        else
        {
            var shards = Shards(plan);
            totals = await FanOutAsync(ShardStreams(plan), ShardsInFlight(plan),
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

    /// <summary>Fetches a shard's batches with at most <see cref="ShardWork.MaxBatchesInFlight"/> in flight, one at a time
    /// per lane, and returns their merged statistics.</summary>
    public static async Task<BatchStats> RunShardAsync(ICrawlOrchestrationContext context, ShardWork shard)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(shard);
        context.SetCustomStatus(new CrawlProgress(0, shard.BatchCount, 0, shard.UrlCount, 0));
        var totals = await FanOutAsync(BatchLayout.Streams(shard.Lanes, shard.BatchCount), shard.MaxBatchesInFlight,
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
        var ranges = BatchLayout.ShardRanges(plan.Lanes, plan.BatchCount, plan.BatchesPerShard);
        var shards = new List<ShardWork>(plan.ShardCount);
        for (var index = 0; index < plan.ShardCount; index++)
        {
            var (first, count) = ranges[index];
            shards.Add(new ShardWork(plan.JobId, index, plan.BatchesPerShard, count, Math.Min(perShardWindow, count))
            {
                Skipped = first - index * plan.BatchesPerShard,
                // Plans made before lanes carry no shard counts: their batches were dealt round-robin.
                UrlCount = plan.ShardUrlCounts.Count == plan.ShardCount
                    ? plan.ShardUrlCounts[index]
                    : BatchLayout.UrlsInBatches(plan.UrlCount, plan.BatchCount, first, count),
                Lanes = BatchLayout.LanesWithin(plan.Lanes, first, count),
                PlanId = plan.PlanId,
            });
        }

        return shards;
    }

    /// <summary>The shards run in order, one at a time: each run of shards that share a lane too long for one shard, and
    /// every other shard on its own.</summary>
    internal static IEnumerable<(int First, int Count)> ShardStreams(CrawlPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var ranges = BatchLayout.ShardRanges(plan.Lanes, plan.BatchCount, plan.BatchesPerShard);
        var first = 0;
        for (var shard = 1; shard <= plan.ShardCount; shard++)
        {
            if (shard == plan.ShardCount || !BatchLayout.ContinuesLane(plan.Lanes, ranges[shard].First))
            {
                yield return (first, shard - first);
                first = shard;
            }
        }
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

    /// <summary>Runs the calls of <paramref name="streams"/> (consecutive ranges of indexes covering them all, in
    /// order): the calls of one stream one at a time, in index order, and at most <paramref name="window"/> calls in
    /// all. It starts the first call of up to <paramref name="window"/> streams; each time a call completes, the next
    /// call of its stream takes its place, or, when that stream is done, the first call of the next stream not yet
    /// started. So the window stays full while enough streams remain, a lane never has two calls in flight, and the
    /// order depends only on the order of completions (which the history records). Results are merged as they
    /// complete; a failed call fails the whole fan-out.</summary>
    private static async Task<BatchStats> FanOutAsync(IEnumerable<(int First, int Count)> streams, int window, Func<int, Task<BatchStats>> start,
        Action<BatchStats> progress)
    {
        window = Math.Max(1, window);
        using var fresh = streams.GetEnumerator();
        var inFlight = new List<(Task<BatchStats> Call, int Next, int End)>(window);

        bool StartFresh()
        {
            while (fresh.MoveNext())
            {
                var (first, count) = fresh.Current;
                if (count > 0)
                {
                    inFlight.Add((start(first), first + 1, first + count));
                    return true;
                }
            }

            return false;
        }

        while (inFlight.Count < window && StartFresh())
        {
        }

        var totals = BatchStats.Empty;
        while (inFlight.Count > 0)
        {
            var completed = await Task.WhenAny(inFlight.Select(f => f.Call));
            var index = inFlight.FindIndex(f => f.Call == completed);
            var (_, next, end) = inFlight[index];
            inFlight.RemoveAt(index);
            totals = BatchStats.Merge(totals, await completed);
            progress(totals);
            if (next < end)
            {
                inFlight.Add((start(next), next + 1, end));
            }
            else
            {
                StartFresh();
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
