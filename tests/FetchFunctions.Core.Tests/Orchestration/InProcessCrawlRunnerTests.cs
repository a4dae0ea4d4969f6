using System.Collections.Concurrent;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class InProcessCrawlRunnerTests
{
    private static readonly JobTicket Ticket = new("job-1", "job-1/job.json");

    /// <summary>Activities over a planned shape (independent batches: lanes of one); batches wait on gates the test opens,
    /// and record cancellation.</summary>
    private sealed class FakeActivities(CrawlPlan plan) : ICrawlActivities
    {
        public ConcurrentDictionary<int, TaskCompletionSource> Gates { get; } = new();
        public ConcurrentBag<int> Cancelled { get; } = [];
        public ConcurrentBag<int> Started { get; } = [];
        public int Running => Started.Count - Finished;
        public int Finished;
        public SummaryWork? SummaryInput { get; private set; }
        public int? FailBatch { get; init; }

        public Task<CrawlPlan> PlanRoundAsync(RoundTicket round, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("This job discovers nothing.");

        public Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken) => Task.FromResult(plan);

        public async Task<LaneProgress> FetchLaneAsync(LaneWork lane, IProgress<BatchStats>? committed, CancellationToken cancellationToken)
        {
            var batch = lane.FromBatch;
            Started.Add(batch);
            try
            {
                if (batch == FailBatch)
                {
                    throw new InvalidOperationException("batch failed");
                }

                await Gate(batch).Task.WaitAsync(cancellationToken);
                var urls = BatchLayout.UrlsInBatch(plan.UrlCount, plan.BatchCount, batch);
                var stats = new BatchStats { Batches = 1, Urls = urls, Succeeded = urls, Bytes = 10 * urls };
                committed?.Report(stats);
                return new LaneProgress(stats, batch + 1);
            }
            catch (OperationCanceledException)
            {
                Cancelled.Add(batch);
                throw;
            }
            finally
            {
                Interlocked.Increment(ref Finished);
            }
        }

        public Task<long> MergeShardIndexAsync(ShardIndexWork work, CancellationToken cancellationToken) => Task.FromResult(0L);

        public Task<CrawlSummary> WriteSummaryAsync(SummaryWork work, CancellationToken cancellationToken)
        {
            SummaryInput = work;
            return Task.FromResult(new CrawlSummary { JobId = work.JobId, SummaryBlobName = "s", Total = work.Totals.Urls, Bytes = work.Totals.Bytes });
        }

        public TaskCompletionSource Gate(int batch) => Gates.GetOrAdd(batch, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    private sealed class SyncProgress : IProgress<CrawlProgress>
    {
        public ConcurrentQueue<CrawlProgress> Reports { get; } = new();

        public void Report(CrawlProgress value) => Reports.Enqueue(value);
    }

    private static (InProcessCrawlRunner Sut, FakeActivities Activities, FakeTimeProvider Time) CreateSut(CrawlPlan plan, int? failBatch = null)
    {
        var activities = new FakeActivities(plan) { FailBatch = failBatch };
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        return (new InProcessCrawlRunner(activities, time, NullLogger<InProcessCrawlRunner>.Instance), activities, time);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(8)]
    public async Task RunAsync_Job_RunsEveryBatchWithWindowAndReportsProgress(int batchesPerShard)
    {
        var plan = BatchLayout.Plan("job-1", 1000, 0, 50, batchesPerShard, 4);
        var (sut, activities, time) = CreateSut(plan);
        var progress = new SyncProgress();

        var run = sut.RunAsync(Ticket, progress, CancellationToken.None);
        await Poll.UntilAsync(() => activities.Started.Count == 4, "a window of four batches");
        time.Advance(TimeSpan.FromMinutes(5));
        for (var batch = 0; batch < plan.BatchCount; batch++)
        {
            Assert.InRange(activities.Running, 1, 4);
            activities.Gate(batch).SetResult();
            await Poll.UntilAsync(() => activities.Finished == batch + 1, $"batch {batch} to finish");
        }

        var summary = await run;
        Assert.Equal(1000, summary.Total);
        Assert.Equal(Enumerable.Range(0, 20), activities.Started.Order());
        Assert.Equal(TimeSpan.FromMinutes(5), activities.SummaryInput!.FinishedAt - activities.SummaryInput.StartedAt);
        var reports = progress.Reports.ToList();
        Assert.Equal(new CrawlProgress(0, 20, 0, 1000, 0), reports[0]);
        Assert.Equal(Enumerable.Range(0, 21), reports.Select(r => r.BatchesDone));
        Assert.Equal(new CrawlProgress(20, 20, 1000, 1000, 10_000), reports[^1]);
    }

    [Fact]
    public async Task RunAsync_Cancelled_ThrowsAndStopsEveryRunningBatch()
    {
        var plan = BatchLayout.Plan("job-1", 1000, 0, 50, 500, 4);
        var (sut, activities, _) = CreateSut(plan);
        using var cancellation = new CancellationTokenSource();

        var run = sut.RunAsync(Ticket, null, cancellation.Token);
        await Poll.UntilAsync(() => activities.Started.Count == 4, "a window of four batches");
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(4, activities.Cancelled.Count);
        Assert.Equal(0, activities.Running);
        Assert.Null(activities.SummaryInput);
    }

    [Fact]
    public async Task RunAsync_BatchFails_ThrowsItsErrorAfterStoppingTheOthers()
    {
        var plan = BatchLayout.Plan("job-1", 1000, 0, 50, 500, 4);
        var (sut, activities, _) = CreateSut(plan, failBatch: 2);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => sut.RunAsync(Ticket, null, CancellationToken.None));

        Assert.Equal("batch failed", ex.Message);
        Assert.Equal(0, activities.Running);
        Assert.Contains(2, activities.Started);
        Assert.Equal(activities.Started.Count - 1, activities.Cancelled.Count);
        Assert.Null(activities.SummaryInput);
    }

    [Fact]
    public async Task RunAsync_AlreadyCancelled_ThrowsWithoutPlanning()
    {
        var (sut, activities, _) = CreateSut(BatchLayout.Plan("job-1", 10, 0, 5, 500, 1));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sut.RunAsync(Ticket, null, new CancellationToken(canceled: true)));
        Assert.Empty(activities.Started);
    }
}
