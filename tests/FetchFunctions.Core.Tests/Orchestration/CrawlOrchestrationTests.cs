using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using static FetchFunctions.Core.Tests.Orchestration.OrchestrationHarness;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class CrawlOrchestrationTests
{
    private const string JobId = "job-42";

    /// <summary>A job of <paramref name="urls"/> URLs whose activities answer deterministically from their input.</summary>
    private sealed class FakeJob(int urls, int batchSize = 50, int batchesPerShard = 500, int window = 8)
    {
        public CrawlPlan Plan { get; } = BatchLayout.Plan(JobId, urls, duplicatesRemoved: 3, batchSize, batchesPerShard, window);

        public Exception? FailBatch { get; init; }

        public object Respond(ScheduledCall call, object input, Recorder recorder) => input switch
        {
            JobTicket => Plan,
            BatchWork work when FailBatch is not null && work.BatchIndex == 1 => FailBatch,
            BatchWork work => Stats(work.BatchIndex),
            SummaryWork work => new CrawlSummary
            {
                JobId = work.JobId, SummaryBlobName = "s", Total = work.Totals.Urls, Bytes = work.Totals.Bytes, StartedAt = work.StartedAt,
                FinishedAt = work.FinishedAt,
            },
            ShardWork shard => RecordShard(call.InstanceId!, shard, recorder),
            _ => throw new InvalidOperationException($"Unexpected call {call}"),
        };

        public Dictionary<string, ShardWork> ShardInputs { get; } = new(StringComparer.Ordinal);

        private BatchStats RecordShard(string instanceId, ShardWork shard, Recorder recorder)
        {
            ShardInputs[instanceId] = shard;
            return Record(instanceId, context => CrawlOrchestration.RunShardAsync(context, shard), Respond, recorder).Output;
        }

        public BatchStats Stats(int batch)
        {
            var urls = BatchLayout.UrlsInBatch(Plan.UrlCount, Plan.BatchCount, batch);
            return new BatchStats
            {
                Batches = 1, Urls = urls, Succeeded = urls - 1, Failed = 1, Bytes = 1000L * batch,
                StatusCodes = new Dictionary<int, long> { [200] = urls - 1, [404] = 1 },
                Latency = LatencyHistogram.FromMilliseconds(Enumerable.Repeat(10.0 + batch, urls)),
                Hosts = [new HostStats($"h{batch % 3}", urls, urls - 1, 1, 1000L * batch)],
            };
        }

        public (CrawlSummary Output, Recorder Recorder) Run(int seed)
        {
            var recorder = new Recorder(seed);
            var (output, _) = Record(JobId, context => CrawlOrchestration.RunJobAsync(context, Ticket), Respond, recorder);
            return (output, recorder);
        }
    }

    private static readonly JobTicket Ticket = new(JobId, $"{JobId}/job.json");

    private static FakeJob CreateSut(int urls, int batchSize = 50, int batchesPerShard = 500, int window = 8) =>
        new(urls, batchSize, batchesPerShard, window);

    [Fact]
    public void RunJobAsync_SmallJob_PlansFetchesEveryBatchOnceThenWritesSummary()
    {
        var sut = CreateSut(urls: 1234);

        var (summary, recorder) = sut.Run(seed: 1);

        var calls = recorder.Histories[JobId].Calls;
        Assert.Equal(CrawlFunctionNames.PlanActivity, calls[0].Name);
        Assert.Equal(CrawlFunctionNames.WriteSummaryActivity, calls[^1].Name);
        var batches = calls.Skip(1).SkipLast(1).ToList();
        Assert.All(batches, c => Assert.Equal(CrawlFunctionNames.FetchBatchActivity, c.Name));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => Json(new BatchWork(JobId, i, 500))), batches.Select(c => c.Input));
        Assert.Equal(1234, summary.Total);
        Assert.Equal(Enumerable.Range(0, 25).Sum(i => 1000L * i), summary.Bytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void RunJobAsync_Window_KeepsAtMostWBatchesInFlightAndRefillsAsOneCompletes(int window)
    {
        var sut = CreateSut(urls: 1000, batchSize: 10, window: window);

        var (_, recorder) = sut.Run(seed: 7);

        var history = recorder.Histories[JobId];
        var batchInFlight = history.InFlightAtSchedule.Skip(1).SkipLast(1).ToList();
        Assert.Equal(100, batchInFlight.Count);
        Assert.Equal(Enumerable.Range(1, window), batchInFlight.Take(window));
        Assert.All(batchInFlight.Skip(window), n => Assert.Equal(window, n));
    }

    [Fact]
    public void RunJobAsync_Progress_SetAfterEveryBatchAndEndsAtTotals()
    {
        var sut = CreateSut(urls: 480, batchSize: 50);

        var (_, recorder) = sut.Run(seed: 3);

        var statuses = recorder.Histories[JobId].Statuses;
        Assert.Equal(1 + 10, statuses.Count);
        Assert.Equal(new CrawlProgress(0, 10, 0, 480, 0), statuses[0]);
        Assert.Equal(Enumerable.Range(0, 11), statuses.Select(s => s.BatchesDone));
        Assert.True(statuses.Zip(statuses.Skip(1)).All(p => p.Second.UrlsDone > p.First.UrlsDone));
        Assert.Equal(new CrawlProgress(10, 10, 480, 480, Enumerable.Range(0, 10).Sum(i => 1000L * i)), statuses[^1]);
    }

    [Fact]
    public void RunJobAsync_SummaryInput_IsMergeOfAllBatchStatsWithOrchestrationTimes()
    {
        var sut = CreateSut(urls: 333, batchSize: 20);

        var (_, recorder) = sut.Run(seed: 11);

        var history = recorder.Histories[JobId];
        var summaryInput = history.Calls[^1].Input;
        var expectedTotals = Enumerable.Range(0, 17).Select(sut.Stats).Aggregate(BatchStats.Empty, BatchStats.Merge);
        var work = System.Text.Json.JsonSerializer.Deserialize<SummaryWork>(summaryInput)!;
        Assert.Equal(333, work.Totals.Urls);
        Assert.Equal(17, work.Totals.Batches);
        Assert.Equal(expectedTotals.Bytes, work.Totals.Bytes);
        Assert.Equal(expectedTotals.Latency.Percentile(0.99), work.Totals.Latency.Percentile(0.99));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), work.StartedAt);
        Assert.Equal(work.StartedAt.AddSeconds(1 + 17), work.FinishedAt);
    }

    [Theory]
    [InlineData(777, 50, 500, 1)]
    [InlineData(777, 5, 40, 2)]
    [InlineData(5000, 10, 30, 3)]
    [InlineData(5000, 10, 30, 4)]
    public void RunJobAsync_ReplayOfRecordedHistory_SchedulesIdenticalCalls(int urls, int batchSize, int batchesPerShard, int seed)
    {
        var sut = CreateSut(urls, batchSize, batchesPerShard, window: 4);
        var (output, recorder) = sut.Run(seed);

        foreach (var (instanceId, recorded) in recorder.Histories)
        {
            var replayed = instanceId == JobId
                ? Replay(recorded, context => CrawlOrchestration.RunJobAsync(context, Ticket)).History
                : Replay(recorded, context => CrawlOrchestration.RunShardAsync(context, sut.ShardInputs[instanceId])).History;

            Assert.Equal(recorded.Calls, replayed.Calls);
            Assert.Equal(recorded.Statuses, replayed.Statuses);
            Assert.Equal(recorded.OutputJson, replayed.OutputJson);
        }

        Assert.Equal(urls, output.Total);
    }

    [Fact]
    public void RunJobAsync_ReplayOfPartialHistoryThenLive_KeepsRecordedPrefixAndFinishesTheSame()
    {
        var sut = CreateSut(urls: 2000, batchSize: 25);
        var (output, recorder) = sut.Run(seed: 5);
        var recorded = recorder.Histories[JobId];

        foreach (var events in new[] { 0, 1, 2, 17, 40, recorded.CompletionOrder.Count - 1 })
        {
            var (replayedOutput, replayed) = Replay(recorded, context => CrawlOrchestration.RunJobAsync(context, Ticket), events, sut.Respond,
                new Recorder(seed: 1000 + events));

            Assert.Equal(recorded.Calls, replayed.Calls);
            Assert.Equal(Json(output), Json(replayedOutput));
        }
    }

    [Fact]
    public void RunJobAsync_ReplayOfHistoryFromOtherJob_Diverges()
    {
        var (_, recorder) = CreateSut(urls: 100, batchSize: 10).Run(seed: 2);
        var recorded = recorder.Histories[JobId];

        var ex = Assert.Throws<InvalidOperationException>(() =>
            Replay(recorded, context => CrawlOrchestration.RunJobAsync(context, Ticket with { JobId = "other" })));

        Assert.StartsWith("Replay diverged", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100_000)]
    [InlineData(1_000_000)]
    public void RunJobAsync_HugeJob_NoOrchestrationExceedsCallCapAndEveryBatchRunsOnce(int urls)
    {
        var sut = CreateSut(urls);

        var (summary, recorder) = sut.Run(seed: 9);

        var batches = BatchLayout.BatchCount(urls, 50);
        var shards = BatchLayout.ShardCount(batches, 500);
        Assert.Equal(1 + shards, recorder.Histories.Count);
        Assert.All(recorder.Histories.Values, h => Assert.InRange(h.Calls.Count, 1, CrawlOptions.MaxCallsPerOrchestration));
        Assert.Equal(2 + shards, recorder.Histories[JobId].Calls.Count);
        var fetched = recorder.Histories.Values.SelectMany(h => h.Calls).Where(c => c.Name == CrawlFunctionNames.FetchBatchActivity).ToList();
        Assert.Equal(batches, fetched.Count);
        Assert.Equal(batches, fetched.Distinct().Count());
        Assert.Equal(urls, summary.Total);
        Assert.Equal(
            Enumerable.Range(0, shards).Select(i => CrawlOrchestration.ShardInstanceId(JobId, i)),
            recorder.Histories[JobId].Calls.Where(c => c.Kind == "orchestration").Select(c => c.InstanceId));
    }

    [Fact]
    public void RunJobAsync_Shards_NeverMoreBatchesInFlightThanJobWindow()
    {
        var sut = CreateSut(urls: 10_000, batchSize: 10, batchesPerShard: 100, window: 8);

        var (_, recorder) = sut.Run(seed: 4);

        var job = recorder.Histories[JobId];
        var shardWindow = CrawlOrchestration.ShardsInFlight(sut.Plan);
        Assert.Equal(8, shardWindow);
        Assert.All(job.InFlightAtSchedule, n => Assert.InRange(n, 1, shardWindow));
        Assert.All(recorder.Histories.Values.Where(h => h.InstanceId != JobId),
            h => Assert.All(h.InFlightAtSchedule, n => Assert.Equal(1, n)));
    }

    [Fact]
    public void Shards_Plan_CoverEveryBatchOnceWithUrlCountsAndSharedWindow()
    {
        var plan = BatchLayout.Plan(JobId, 12_345, 0, 10, 100, 8);

        var shards = CrawlOrchestration.Shards(plan);

        Assert.Equal(13, shards.Count);
        Assert.Equal(Enumerable.Range(0, plan.BatchCount), shards.SelectMany(s => Enumerable.Range(s.FirstBatch, s.BatchCount)));
        Assert.Equal(12_345, shards.Sum(s => s.UrlCount));
        Assert.True(shards.Max(s => s.MaxBatchesInFlight) * CrawlOrchestration.ShardsInFlight(plan) <= plan.MaxBatchesInFlight);
    }

    [Theory]
    [InlineData(40, 8, 8, 1)]
    [InlineData(3, 8, 2, 4)]
    [InlineData(3, 4, 2, 2)]
    [InlineData(3, 7, 1, 7)]
    [InlineData(2, 6, 2, 3)]
    public void Shards_FewerShardsThanWindow_SplitWindowEvenly(int shardCount, int window, int shardsInFlight, int perShard)
    {
        var plan = new CrawlPlan(JobId, shardCount * 1000, 0, shardCount * 100, 100, shardCount, window);

        Assert.Equal(shardsInFlight, CrawlOrchestration.ShardsInFlight(plan));
        Assert.All(CrawlOrchestration.Shards(plan), s => Assert.Equal(perShard, s.MaxBatchesInFlight));
        Assert.Equal(window, shardsInFlight * perShard);
    }

    [Fact]
    public void RunShardAsync_Shard_FetchesItsOwnBatchRangeWithItsWindow()
    {
        var sut = CreateSut(urls: 5000, batchSize: 10);
        // The third shard of 100 batches each, the last one half full.
        var shard = new ShardWork(JobId, 2, BatchesPerShard: 100, BatchCount: 50, MaxBatchesInFlight: 3) { UrlCount = 500 };

        var (stats, history) = Record("shard", context => CrawlOrchestration.RunShardAsync(context, shard), sut.Respond, new Recorder(6));

        Assert.Equal(Enumerable.Range(200, 50).Select(i => Json(new BatchWork(JobId, i, 100))), history.Calls.Select(c => c.Input));
        Assert.All(history.InFlightAtSchedule, n => Assert.InRange(n, 1, 3));
        Assert.Equal(50, stats.Batches);
        Assert.Equal(500, stats.Urls);
        Assert.Equal(new CrawlProgress(50, 50, 500, 500, stats.Bytes), history.Statuses[^1]);
    }

    [Fact]
    public void RunJobAsync_EmptyPlan_WritesSummaryWithoutBatches()
    {
        var (summary, recorder) = CreateSut(urls: 0).Run(seed: 1);

        Assert.Equal([CrawlFunctionNames.PlanActivity, CrawlFunctionNames.WriteSummaryActivity], recorder.Histories[JobId].Calls.Select(c => c.Name));
        Assert.Equal(0, summary.Total);
    }

    [Fact]
    public void RunJobAsync_FailedBatch_FailsTheOrchestration()
    {
        var sut = new FakeJob(500, 50) { FailBatch = new InvalidOperationException("storage down") };

        var ex = Assert.Throws<InvalidOperationException>(() => sut.Run(seed: 1));

        Assert.Equal("storage down", ex.Message);
    }

}
