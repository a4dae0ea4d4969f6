using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using static FetchFunctions.Core.Tests.Orchestration.OrchestrationHarness;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class CrawlOrchestrationTests
{
    private const string JobId = "job-42";

    /// <summary>A job of <paramref name="urls"/> URLs whose activities answer deterministically from their input. A lane
    /// call commits at most <see cref="BatchesPerCall"/> batches (as if its budget came), so long lanes take several calls.</summary>
    private sealed class FakeJob(int urls, int batchSize = 50, int batchesPerShard = 500, int window = 8, HostLayout? layout = null)
    {
        public CrawlPlan Plan { get; } = layout is null
            ? BatchLayout.Plan(JobId, urls, duplicatesRemoved: 3, batchSize, batchesPerShard, window)
            : BatchLayout.Plan(JobId, layout, duplicatesRemoved: 3, batchesPerShard, window);

        public const int BatchesPerCall = 3;

        public Exception? FailBatch { get; init; }

        /// <summary>A lane call that returns its own starting point as the cursor.</summary>
        public bool Stuck { get; init; }

        public object Respond(ScheduledCall call, object input, Recorder recorder) => input switch
        {
            JobTicket => Plan,
            LaneWork work when FailBatch is not null && work.FromBatch <= 1 && 1 < work.EndBatch => FailBatch,
            LaneWork work when Stuck => new LaneProgress(BatchStats.Empty, work.FromBatch),
            LaneWork work => Lane(work),
            SummaryWork work => new CrawlSummary
            {
                JobId = work.JobId, SummaryBlobName = "s", Total = work.Totals.Urls, Bytes = work.Totals.Bytes, StartedAt = work.StartedAt,
                FinishedAt = work.FinishedAt,
            },
            ShardWork shard => RecordShard(call.InstanceId!, shard, recorder),
            ShardIndexWork => 0L,
            _ => throw new InvalidOperationException($"Unexpected call {call}"),
        };

        public Dictionary<string, ShardWork> ShardInputs { get; } = new(StringComparer.Ordinal);

        private LaneProgress Lane(LaneWork work)
        {
            var next = Math.Min(work.EndBatch, work.FromBatch + BatchesPerCall);
            return new LaneProgress(Enumerable.Range(work.FromBatch, next - work.FromBatch).Select(Stats).Aggregate(BatchStats.Empty, BatchStats.Merge), next);
        }

        private BatchStats RecordShard(string instanceId, ShardWork shard, Recorder recorder)
        {
            ShardInputs[instanceId] = shard;
            return Record(instanceId, context => CrawlOrchestration.RunShardAsync(context, shard), Respond, recorder).Output;
        }

        public BatchStats Stats(int batch)
        {
            var urls = layout?.UrlsInBatch(batch) ?? BatchLayout.UrlsInBatch(Plan.UrlCount, Plan.BatchCount, batch);
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

    /// <summary>A job of hosts of the given sizes, laid out as the planner lays them out.</summary>
    private static FakeJob CreateSut(int[] hostSizes, int batchSize, int batchesPerShard = 500, int window = 8)
    {
        var layout = BatchLayout.Assign(hostSizes, batchSize);
        return new(layout.UrlCount, batchSize, batchesPerShard, window, layout);
    }

    /// <summary>Which lane each batch of the plan is in (null: an independent batch).</summary>
    private static int?[] LaneOfBatch(CrawlPlan plan)
    {
        var lanes = new int?[plan.BatchCount];
        var lane = 0;
        foreach (var (first, count) in BatchLayout.Streams(plan.Lanes, plan.BatchCount).Where(s => s.Count > 1))
        {
            for (var b = first; b < first + count; b++)
            {
                lanes[b] = lane;
            }

            lane++;
        }

        return lanes;
    }

    private static LaneWork LaneOf(ScheduledCall call) => System.Text.Json.JsonSerializer.Deserialize<LaneWork>(call.Input)!;

    /// <summary>The batch each call of a history starts from (-1: not a lane call).</summary>
    private static List<int> FromBatches(OrchestrationHistory history) =>
        [.. history.Calls.Select(c => c.Name == CrawlFunctionNames.FetchLaneActivity ? LaneOf(c).FromBatch : -1)];

    /// <summary>The batches the lane calls of the histories committed, each [FromBatch, NextBatch), in call order.</summary>
    private static List<int> Committed(IEnumerable<OrchestrationHistory> histories) =>
        [.. histories.SelectMany(h => h.Calls.Select((c, i) => (Call: c, Index: i, History: h)))
            .Where(c => c.Call.Name == CrawlFunctionNames.FetchLaneActivity)
            .SelectMany(c => Enumerable.Range(LaneOf(c.Call).FromBatch, ((LaneProgress)c.History.Results[c.Index]).NextBatch - LaneOf(c.Call).FromBatch))];

    /// <summary>The calls in flight right after each schedule, replayed from the history's events.</summary>
    private static IEnumerable<HashSet<int>> InFlightSets(OrchestrationHistory history)
    {
        var inFlight = new HashSet<int>();
        foreach (var (scheduled, call) in history.Events)
        {
            if (scheduled)
            {
                inFlight.Add(call);
                yield return [.. inFlight];
            }
            else
            {
                inFlight.Remove(call);
            }
        }
    }

    /// <summary>Asserts that a history never had two calls of one lane in flight and ran each lane in batch order, each
    /// call from the cursor the one before returned.</summary>
    private static void AssertLanesOneAtATime(OrchestrationHistory history, int?[] laneOfBatch, int firstBatch = 0)
    {
        var batches = FromBatches(history).Select(b => b < 0 ? -1 : b - firstBatch).ToList();
        foreach (var inFlight in InFlightSets(history))
        {
            var lanes = inFlight.Where(c => batches[c] >= 0).Select(c => laneOfBatch[batches[c]]).Where(l => l is not null).ToList();
            Assert.Equal(lanes.Count, lanes.Distinct().Count());
        }

        foreach (var lane in batches.Select((b, call) => (Batch: b, Call: call)).Where(c => c.Batch >= 0).GroupBy(c => laneOfBatch[c.Batch]).Where(g => g.Key is not null))
        {
            var calls = lane.ToList();
            Assert.Equal(calls.Select(c => c.Batch).Order(), calls.Select(c => c.Batch));
            Assert.All(calls.Zip(calls.Skip(1)), p => Assert.Equal(((LaneProgress)history.Results[p.First.Call]).NextBatch - firstBatch, p.Second.Batch));
        }
    }

    [Fact]
    public void RunJobAsync_SmallJob_PlansFetchesEveryBatchOnceThenWritesSummary()
    {
        var sut = CreateSut(urls: 1234);

        var (summary, recorder) = sut.Run(seed: 1);

        var calls = recorder.Histories[JobId].Calls;
        Assert.Equal(CrawlFunctionNames.PlanActivity, calls[0].Name);
        Assert.Equal(CrawlFunctionNames.WriteSummaryActivity, calls[^1].Name);
        var batches = calls.Skip(1).SkipLast(1).ToList();
        Assert.All(batches, c => Assert.Equal(CrawlFunctionNames.FetchLaneActivity, c.Name));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => Json(new LaneWork(JobId, i, 1, i, 500, null))), batches.Select(c => c.Input));
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
        var fetched = recorder.Histories.Values.SelectMany(h => h.Calls).Where(c => c.Name == CrawlFunctionNames.FetchLaneActivity).ToList();
        Assert.Equal(batches, fetched.Count);
        Assert.Equal(batches, fetched.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, batches), Committed(recorder.Histories.Values).Order());
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

        // Then, once every lane is done, the shard merges its batches' index parts.
        Assert.Equal([.. Enumerable.Range(200, 50).Select(i => Json(new LaneWork(JobId, i, 1, i, 100, null))), Json(new ShardIndexWork(JobId, 2, 200, 50))],
            history.Calls.Select(c => c.Input));
        Assert.Equal(1, history.InFlightAtSchedule[^1]);
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
    public void RunJobAsync_LaneCallReturnsItsOwnStart_FailsInsteadOfCallingForever()
    {
        var sut = new FakeJob(500, 50) { Stuck = true };

        var ex = Assert.Throws<InvalidOperationException>(() => sut.Run(seed: 1));

        Assert.Contains("returned cursor", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunJobAsync_FailedBatch_FailsTheOrchestration()
    {
        var sut = new FakeJob(500, 50) { FailBatch = new InvalidOperationException("storage down") };

        var ex = Assert.Throws<InvalidOperationException>(() => sut.Run(seed: 1));

        Assert.Equal("storage down", ex.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RunJobAsync_Lanes_NeverTwoBatchesOfALaneInFlightAndEachLaneInOrder(int seed)
    {
        // Hosts of 1 to 200 URLs at batch size 20: lanes of 2 to 10 batches, and small hosts packed together; one shard.
        var sut = CreateSut([.. Enumerable.Range(0, 60).Select(i => i * 37 % 200 + 1)], batchSize: 20, window: 8);

        var (summary, recorder) = sut.Run(seed);

        var history = recorder.Histories[JobId];
        Assert.True(sut.Plan.Lanes.Count > 3, "the job has lanes of several lengths");
        Assert.Equal(1, sut.Plan.ShardCount);
        AssertLanesOneAtATime(history, LaneOfBatch(sut.Plan));
        Assert.All(history.InFlightAtSchedule, n => Assert.InRange(n, 1, 8));
        Assert.Equal(Enumerable.Range(0, sut.Plan.BatchCount), Committed([history]).Order());
        Assert.Contains(history.Calls, c => c.Name == CrawlFunctionNames.FetchLaneActivity && LaneOf(c).FromBatch > LaneOf(c).FirstBatch);
        Assert.Equal(sut.Plan.UrlCount, summary.Total);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void RunJobAsync_ManyHosts_KeepsTheWindowFullWhileAnyBatchCouldStart(int seed)
    {
        // 50 hosts of 130 URLs (lanes of 3 batches of 50) and 300 hosts of 2 URLs (12 shared batches).
        var sut = CreateSut([.. Enumerable.Repeat(130, 50), .. Enumerable.Repeat(2, 300)], batchSize: 50, window: 8);

        var (_, recorder) = sut.Run(seed);

        var history = recorder.Histories[JobId];
        var laneOf = LaneOfBatch(sut.Plan);
        AssertLanesOneAtATime(history, laneOf);
        // After every completion and what the logic scheduled at once, either the window is full or every lane (an
        // independent batch is a lane of one) has started: a lane with calls left always has its next one in flight.
        var streams = BatchLayout.Streams(sut.Plan.Lanes, sut.Plan.BatchCount).ToList();
        var streamOf = new int[sut.Plan.BatchCount];
        for (var stream = 0; stream < streams.Count; stream++)
        {
            for (var b = streams[stream].First; b < streams[stream].First + streams[stream].Count; b++)
            {
                streamOf[b] = stream;
            }
        }

        var started = new HashSet<int>();
        var inFlight = new HashSet<int>();
        var batches = FromBatches(history);
        var checks = 0;
        for (var e = 0; e < history.Events.Count; e++)
        {
            var (scheduled, call) = history.Events[e];
            if (batches[call] < 0)
            {
                continue;
            }

            if (scheduled)
            {
                started.Add(streamOf[batches[call]]);
                inFlight.Add(call);
            }
            else
            {
                inFlight.Remove(call);
            }

            var settled = e + 1 == history.Events.Count || !history.Events[e + 1].Scheduled;
            if (settled && inFlight.Count > 0)
            {
                Assert.True(inFlight.Count == 8 || started.Count == streams.Count, $"event {e}: {inFlight.Count} in flight while a lane could start");
                checks++;
            }
        }

        Assert.True(checks >= streams.Count);
        Assert.Equal(150 + 12, sut.Plan.BatchCount);
    }

    [Fact]
    public void RunJobAsync_OneHugeHost_RunsOneBatchAtATimeInOrder()
    {
        var sut = CreateSut([5000], batchSize: 50, window: 8);

        var (_, recorder) = sut.Run(seed: 6);

        var history = recorder.Histories[JobId];
        Assert.Equal([new LaneRun(100, 1)], sut.Plan.Lanes);
        Assert.All(history.InFlightAtSchedule, n => Assert.Equal(1, n));
        // One stream of calls, each from the cursor the one before returned.
        Assert.Equal(Enumerable.Range(0, 34).Select(i => i * FakeJob.BatchesPerCall), history.Calls.Where(c => c.Name == CrawlFunctionNames.FetchLaneActivity)
            .Select(c => LaneOf(c).FromBatch));
        Assert.All(history.Calls.Where(c => c.Name == CrawlFunctionNames.FetchLaneActivity), c => Assert.Equal((0, 100), (LaneOf(c).FirstBatch, LaneOf(c).BatchCount)));
    }

    /// <summary>Asserts what every sharded lane job must hold: each batch run once, by one shard; shards sharing a lane
    /// never in flight together; within each shard, a lane's batches one at a time and in order.</summary>
    private static void AssertShardsKeepLanes(FakeJob sut, Recorder recorder)
    {
        var plan = sut.Plan;
        var job = recorder.Histories[JobId];
        var laneOf = LaneOfBatch(plan);
        var shardInputs = sut.ShardInputs.Values.OrderBy(s => s.ShardIndex).ToList();
        Assert.Equal(plan.ShardCount, shardInputs.Count);
        Assert.Equal(Enumerable.Range(0, plan.BatchCount), shardInputs.SelectMany(s => Enumerable.Range(s.FirstBatch, s.BatchCount)));
        Assert.Equal(Enumerable.Range(0, plan.BatchCount), Committed(recorder.Histories.Values).Order());

        var shardOfCall = job.Calls.Select(c => c.Kind == "orchestration" ? int.Parse(c.InstanceId![^4..], System.Globalization.CultureInfo.InvariantCulture) : -1).ToList();
        var lanesOfShard = shardInputs
            .Select(s => Enumerable.Range(s.FirstBatch, s.BatchCount).Select(b => laneOf[b]).Where(l => l is not null).ToHashSet())
            .ToList();
        foreach (var inFlight in InFlightSets(job))
        {
            var shards = inFlight.Where(c => shardOfCall[c] >= 0).Select(c => shardOfCall[c]).ToList();
            foreach (var a in shards)
            {
                Assert.All(shards.Where(b => b != a), b => Assert.False(lanesOfShard[a].Overlaps(lanesOfShard[b]), $"shards {a} and {b} share a lane"));
            }
        }

        foreach (var (instanceId, shard) in sut.ShardInputs)
        {
            Assert.Equal(BatchLayout.LanesWithin(plan.Lanes, shard.FirstBatch, shard.BatchCount), shard.Lanes);
            AssertLanesOneAtATime(recorder.Histories[instanceId], laneOf[shard.FirstBatch..(shard.FirstBatch + shard.BatchCount)], shard.FirstBatch);
            Assert.InRange(recorder.Histories[instanceId].Calls.Count, 0, CrawlOptions.MaxCallsPerOrchestration);
        }

        Assert.Equal(plan.ShardUrlCounts, shardInputs.Select(s => s.UrlCount));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public void RunJobAsync_LanesCrossingShardBoundaries_EachRunWholeByTheShardItStartsIn(int seed)
    {
        // Batch size 10, 4 batches per shard: lanes of 9, 7, 5, 3 and 2 batches would cross shard boundaries; 40 small hosts follow.
        var sut = CreateSut([90, 3, 70, 50, 30, 20, .. Enumerable.Repeat(4, 40)], batchSize: 10, batchesPerShard: 4, window: 4);

        var (summary, recorder) = sut.Run(seed);

        AssertShardsKeepLanes(sut, recorder);
        // No shard starts inside a lane, so no two shards share one and they run side by side.
        Assert.All(sut.ShardInputs.Values, s => Assert.False(BatchLayout.ContinuesLane(sut.Plan.Lanes, s.FirstBatch)));
        Assert.Contains(sut.ShardInputs.Values, s => s.FirstBatch + s.BatchCount > (s.ShardIndex + 1) * 4);
        Assert.Contains(recorder.Histories[JobId].InFlightAtSchedule, n => n > 1);
        Assert.Equal(sut.Plan.UrlCount, summary.Total);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(10)]
    public void RunJobAsync_LaneLongerThanAShardMayRun_SharedShardsNeverInFlightTogether(int seed)
    {
        // A host of 3000 URLs in batches of 2: a lane of 1500 batches, more than one orchestration may schedule, so it
        // spans shards 0-2 (400 batches each); two more lanes and 100 small hosts fill shards 3 and 4.
        var sut = CreateSut([3000, 60, 40, .. Enumerable.Repeat(2, 100)], batchSize: 2, batchesPerShard: 400, window: 4);

        var (summary, recorder) = sut.Run(seed);

        AssertShardsKeepLanes(sut, recorder);
        Assert.Equal([(0, 400), (400, 400), (800, 700), (1500, 100), (1600, 50)],
            sut.ShardInputs.Values.OrderBy(s => s.ShardIndex).Select(s => (s.FirstBatch, s.BatchCount)));
        Assert.Equal([(0, 3), (3, 1), (4, 1)], CrawlOrchestration.ShardStreams(sut.Plan));
        Assert.Contains(recorder.Histories[JobId].InFlightAtSchedule, n => n > 1);
        Assert.Equal(sut.Plan.UrlCount, summary.Total);
    }

    [Theory]
    [InlineData(500, 1)]
    [InlineData(4, 2)]
    [InlineData(4, 3)]
    public void RunJobAsync_ReplayOfRecordedHistoryWithLanes_SchedulesIdenticalCalls(int batchesPerShard, int seed)
    {
        var sut = CreateSut([90, 3, 70, 50, 30, 20, .. Enumerable.Repeat(4, 40)], batchSize: 10, batchesPerShard, window: 4);
        var (output, recorder) = sut.Run(seed);

        foreach (var (instanceId, recorded) in recorder.Histories)
        {
            var replayed = instanceId == JobId
                ? Replay(recorded, context => CrawlOrchestration.RunJobAsync(context, Ticket)).History
                : Replay(recorded, context => CrawlOrchestration.RunShardAsync(context, sut.ShardInputs[instanceId])).History;

            Assert.Equal(recorded.Calls, replayed.Calls);
            Assert.Equal(recorded.OutputJson, replayed.OutputJson);
        }

        foreach (var events in new[] { 0, 3, 10, recorder.Histories[JobId].CompletionOrder.Count - 1 })
        {
            var prefix = Truncate(recorder.Histories[JobId], events);
            var (replayedOutput, replayed) = Replay(prefix, context => CrawlOrchestration.RunJobAsync(context, Ticket), events,
                sut.Respond, new Recorder(seed: 2000 + events));

            Assert.Equal(prefix.Calls, replayed.Calls.Take(prefix.Calls.Count));
            Assert.Equal(Json(output), Json(replayedOutput));
            Assert.Equal(recorder.Histories[JobId].Calls.Count, replayed.Calls.Count);
        }
    }
}
