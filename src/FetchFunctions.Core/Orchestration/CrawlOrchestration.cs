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
    /// <summary>Plans the job, fetches its lanes (see <see cref="RunPlanAsync"/>), then, when the job discovers links, plans
    /// and fetches one round per depth (depth 0's sitemaps first, then the links of each round's pages) until a round
    /// finds nothing new or maxDepth is reached, and finally writes the summary. Each round's batches come after every
    /// batch planned before, from a shard of their own, so rounds never share a manifest or a shard orchestration.</summary>
    public static async Task<CrawlSummary> RunJobAsync(ICrawlOrchestrationContext context, JobTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(ticket);
        var logger = context.ReplaySafeLogger;
        var startedAt = context.CurrentUtcDateTime;
        var plan = await context.CallActivityAsync<CrawlPlan>(CrawlFunctionNames.PlanActivity, ticket);
        LogPlanned(logger, plan.JobId, plan.UrlCount, plan.BatchCount, plan.ShardCount, plan.MaxBatchesInFlight);
        var progress = new JobProgress(context, plan.UrlCount);
        var totals = await RunPlanAsync(context, plan, progress);

        if (plan.MaxDepth is { } maxDepth)
        {
            // The pages whose links make the next round: the seeds' batches, then (depth 0) their sitemaps' too.
            var (roundFirst, roundEnd, nextShard) = (plan.FirstBatch, plan.FirstBatch + plan.BatchCount, plan.EndShard);
            for (var depth = plan.FollowSitemaps ? 0 : 1; depth <= maxDepth; depth++)
            {
                var round = await context.CallActivityAsync<CrawlPlan>(CrawlFunctionNames.PlanRoundActivity,
                    new RoundTicket(plan.JobId, depth, roundFirst, roundEnd - roundFirst, nextShard, plan.PlanId));
                LogRoundPlanned(logger, plan.JobId, depth, round.UrlCount, round.BatchCount);
                if (round.UrlCount == 0)
                {
                    if (depth == 0)
                    {
                        continue;
                    }

                    break;
                }

                totals = BatchStats.Merge(totals, await RunPlanAsync(context, round, progress));
                nextShard = round.EndShard;
                if (depth == 0)
                {
                    // The sitemaps' URLs are depth 0 too: their links belong to round 1 with the seeds'.
                    roundEnd = round.FirstBatch + round.BatchCount;
                }
                else
                {
                    (roundFirst, roundEnd) = (round.FirstBatch, round.FirstBatch + round.BatchCount);
                }
            }
        }

        var finishedAt = context.CurrentUtcDateTime;
        var summary = await context.CallActivityAsync<CrawlSummary>(
            CrawlFunctionNames.WriteSummaryActivity, new SummaryWork(plan.JobId, totals, startedAt, finishedAt, plan.DuplicatesRemoved));
        LogCompleted(logger, plan.JobId, summary.Total, summary.Succeeded, summary.Failed);
        return summary;
    }

    /// <summary>Fetches one plan's lanes (the seeds', or a round's) with at most <see cref="CrawlPlan.MaxBatchesInFlight"/>
    /// lane calls in flight (directly, or through shard sub-orchestrations when the plan has more than one shard). A lane
    /// (consecutive batches that alone hold their hosts, see <see cref="BatchLayout"/>; an independent batch is a lane of
    /// one) is a stream of calls, one in flight at a time, each from the cursor the previous returned: with shards, two
    /// shards that share a lane never run at the same time.</summary>
    private static async Task<BatchStats> RunPlanAsync(ICrawlOrchestrationContext context, CrawlPlan plan, JobProgress progress)
    {
        progress.Planned(plan);
        var first = plan.FirstBatch;
        if (plan.ShardCount <= 1)
        {
            return await FanOutAsync(BatchLayout.Streams(plan.Lanes, plan.BatchCount), plan.MaxBatchesInFlight,
                (start, count, from) => context.CallActivityAsync<LaneProgress>(CrawlFunctionNames.FetchLaneActivity,
                    new LaneWork(plan.JobId, first + start, count, first + from, plan.BatchesPerShard, plan.PlanId) { Depth = plan.Depth }),
                progress.Report, offset: first);
        }

        var shards = Shards(plan);
        return await FanOutAsync(ShardStreams(plan), ShardsInFlight(plan),
            async (_, _, index) => new LaneProgress(
                await context.CallSubOrchestratorAsync<BatchStats>(CrawlFunctionNames.ShardOrchestrator,
                    ShardInstanceId(plan.JobId, shards[index].ShardIndex), shards[index]),
                index + 1),
            progress.Report);
    }

    /// <summary>The job's progress across its plans: totals grow as each round is planned.</summary>
    private sealed class JobProgress(ICrawlOrchestrationContext context, int seeds)
    {
        private BatchStats _before = BatchStats.Empty;
        private BatchStats _current = BatchStats.Empty;
        private int _batchesTotal;
        private long _urlsTotal;
        private int _depth;

        public void Planned(CrawlPlan plan)
        {
            _before = BatchStats.Merge(_before, _current);
            _current = BatchStats.Empty;
            _batchesTotal += plan.BatchCount;
            _urlsTotal += plan.UrlCount;
            _depth = plan.Depth;
            Set();
        }

        public void Report(BatchStats planTotals)
        {
            _current = planTotals;
            Set();
        }

        private void Set() => context.SetCustomStatus(new CrawlProgress(_before.Batches + _current.Batches, _batchesTotal,
            _before.Urls + _current.Urls, _urlsTotal, _before.Bytes + _current.Bytes)
        {
            Depth = _depth,
            Discovered = _urlsTotal - seeds,
        });
    }

    /// <summary>Fetches a shard's lanes with at most <see cref="ShardWork.MaxBatchesInFlight"/> lane calls in flight, one
    /// at a time per lane, and returns their merged statistics.</summary>
    public static async Task<BatchStats> RunShardAsync(ICrawlOrchestrationContext context, ShardWork shard)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(shard);
        context.SetCustomStatus(new CrawlProgress(0, shard.BatchCount, 0, shard.UrlCount, 0));
        var first = shard.FirstBatch;
        var totals = await FanOutAsync(BatchLayout.Streams(shard.Lanes, shard.BatchCount), shard.MaxBatchesInFlight,
            (start, count, from) => context.CallActivityAsync<LaneProgress>(CrawlFunctionNames.FetchLaneActivity,
                new LaneWork(shard.JobId, first + start, count, first + from, shard.BatchesPerShard, shard.PlanId) { Depth = shard.Depth }),
            totals => context.SetCustomStatus(new CrawlProgress(totals.Batches, shard.BatchCount, totals.Urls, shard.UrlCount, totals.Bytes)),
            offset: first);
        if (shard.BatchCount > 0)
        {
            // Here, while other shards still fetch, rather than all at the job's fan-in (20,000 parts at 1,000,000 URLs).
            await context.CallActivityAsync<long>(CrawlFunctionNames.MergeShardIndexActivity,
                new ShardIndexWork(shard.JobId, shard.ShardIndex, first, shard.BatchCount));
        }

        LogShardCompleted(context.ReplaySafeLogger, shard.JobId, shard.ShardIndex, totals.Batches, totals.Urls);
        return totals;
    }

    /// <summary>The shard sub-orchestration's instance id: derived from the job id, so a replay schedules the same one.</summary>
    public static string ShardInstanceId(string jobId, int shardIndex) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}:shard:{shardIndex:D4}");

    /// <summary>The shards of a plan. The job's window of <see cref="CrawlPlan.MaxBatchesInFlight"/> lane calls is shared
    /// equally among the shards in flight, so the job never has more lane calls in flight than its window.</summary>
    internal static IReadOnlyList<ShardWork> Shards(CrawlPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var perShardWindow = Math.Max(1, plan.MaxBatchesInFlight / ShardsInFlight(plan));
        var ranges = BatchLayout.ShardRanges(plan.Lanes, plan.BatchCount, plan.BatchesPerShard);
        var shards = new List<ShardWork>(plan.ShardCount);
        for (var index = 0; index < plan.ShardCount; index++)
        {
            var (first, count) = ranges[index];
            shards.Add(new ShardWork(plan.JobId, plan.FirstShard + index, plan.BatchesPerShard, count, Math.Min(perShardWindow, count))
            {
                Depth = plan.Depth,
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
    /// an equal share of the window, and together they keep exactly the window's lane calls in flight.</summary>
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

    /// <summary>Runs <paramref name="streams"/> (consecutive ranges of indexes covering them all, in order), each as a
    /// stream of calls: <paramref name="start"/>(first, count, from) runs the stream from index <c>from</c> and returns
    /// the merged statistics of what it finished and the stream's cursor (with <paramref name="offset"/> added: the calls
    /// speak in absolute batch indexes), from which the next call of the stream starts, until the stream is done. At most
    /// one call per stream and <paramref name="window"/> calls in all are in flight. It starts the first call of up to
    /// <paramref name="window"/> streams; each time a call completes, the next call of its stream takes its place, or,
    /// when that stream is done, the first call of the next stream not yet started. So the window stays full while enough
    /// streams remain, and the order depends only on the order of completions (which the history records). Results are
    /// merged as they complete; a failed call, or one that did not move its cursor, fails the whole fan-out.</summary>
    private static async Task<BatchStats> FanOutAsync(IEnumerable<(int First, int Count)> streams, int window,
        Func<int, int, int, Task<LaneProgress>> start, Action<BatchStats> progress, int offset = 0)
    {
        window = Math.Max(1, window);
        using var fresh = streams.GetEnumerator();
        var inFlight = new List<(Task<LaneProgress> Call, int First, int Count, int From)>(window);

        bool StartFresh()
        {
            while (fresh.MoveNext())
            {
                var (first, count) = fresh.Current;
                if (count > 0)
                {
                    inFlight.Add((start(first, count, first), first, count, first));
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
            var (_, first, count, from) = inFlight[index];
            inFlight.RemoveAt(index);
            var done = await completed;
            totals = BatchStats.Merge(totals, done.Stats);
            progress(totals);
            var next = done.NextBatch - offset;
            if (next <= from || next > first + count)
            {
                throw new InvalidOperationException($"A call of stream [{first + offset}, {first + count + offset}) from {from + offset} returned cursor {done.NextBatch}.");
            }

            if (next < first + count)
            {
                inFlight.Add((start(first, count, next), first, count, next));
            }
            else
            {
                StartFresh();
            }
        }

        return totals;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Crawl {JobId} planned: {UrlCount} URLs in {BatchCount} batches, {ShardCount} shards, {MaxBatchesInFlight} lane calls in flight")]
    private static partial void LogPlanned(ILogger logger, string jobId, int urlCount, int batchCount, int shardCount, int maxBatchesInFlight);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} round {Depth} planned: {UrlCount} URLs in {BatchCount} batches")]
    private static partial void LogRoundPlanned(ILogger logger, string jobId, int depth, int urlCount, int batchCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} shard {ShardIndex} done: {Batches} batches, {Urls} URLs")]
    private static partial void LogShardCompleted(ILogger logger, string jobId, int shardIndex, int batches, long urls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} done: {Total} URLs, {Succeeded} succeeded, {Failed} failed")]
    private static partial void LogCompleted(ILogger logger, string jobId, long total, long succeeded, long failed);
}
