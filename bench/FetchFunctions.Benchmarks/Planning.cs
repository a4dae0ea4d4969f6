using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FetchFunctions.Benchmarks;

/// <summary>Part 5: planning a big job. The benchmark submits the job (URL list blob, intake), then a child process of its
/// own runs the plan activity (read the list, group by host, write the batch manifests) so that its peak RSS is the
/// planner's; the child then runs the orchestration logic over the plan with activities that answer at once, counting
/// the calls each orchestration schedules (its history) against the cap. Nothing is fetched: the URLs name hosts under
/// the reserved .test domain, which never resolves.</summary>
internal static class Planning
{
    public const string Command = "__plan";

    private sealed record Outcome(double PlanSeconds, double ComputeSeconds, long PeakRssBytes, int Urls, int Batches, int Shards, int BatchesPerShard,
        int LargestHistory, int JobHistory, double OrchestrationSeconds, int PlanJsonBytes, int Lanes);

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var list = UrlList(options.PlanUrls);
        var outcomes = new List<Outcome>();
        var intakes = new List<double>();
        for (var run = 0; run < options.Runs; run++)
        {
            var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
            await using (azurite)
            {
                await container.UploadBlobAsync("_uploads/plan-urls.txt", list, cancellationToken);
                JobTicket ticket;
                await using (var core = CoreHost.Create(azurite.ConnectionString, options.Concurrency, options.BigBytes))
                {
                    var started = Stopwatch.GetTimestamp();
                    var submitted = await core.Provider.GetRequiredService<ICrawlIntake>()
                        .SubmitAsync(new CrawlJobRequest { UrlListBlob = "_uploads/plan-urls.txt" }, cancellationToken);
                    intakes.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    ticket = submitted.Ticket ?? throw new InvalidOperationException(
                        $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");
                }

                await using var child = ChildProcess.Start(Command, azurite.ConnectionString, ticket.JobId, ticket.JobBlobName);
                var outcome = JsonSerializer.Deserialize<Outcome>(await child.ReadLineAsync(cancellationToken))
                    ?? throw new InvalidOperationException("The planning child answered nothing.");
                if (await child.WaitForExitAsync(cancellationToken) != 0 || outcome.Urls != options.PlanUrls)
                {
                    throw new InvalidOperationException($"Planning failed: {outcome}");
                }

                outcomes.Add(outcome);
                Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                    $"part 5 run {run + 1}: planned {outcome.Urls} URLs in {outcome.PlanSeconds:0.00} s, peak {outcome.PeakRssBytes / 1e6:0} MB, {outcome.Batches} batches, {outcome.Shards} shards, largest history {outcome.LargestHistory} calls"));
            }
        }

        const string part = "5 planning";
        var time = report.Add(part, "plan activity (read list, group, write manifests)", "s", outcomes.Select(o => o.PlanSeconds));
        report.Add(part, "  of which reading the list and grouping", "s", outcomes.Select(o => o.ComputeSeconds));
        var memory = report.Add(part, "planner process peak RSS", "MB", outcomes.Select(o => o.PeakRssBytes / 1e6));
        report.Add(part, "batches", "count", outcomes.Select(o => (double)o.Batches));
        report.Add(part, "shards (sub-orchestrations)", "count", outcomes.Select(o => (double)o.Shards));
        var history = report.Add(part, "largest orchestration history", "calls", outcomes.Select(o => (double)o.LargestHistory));
        report.Add(part, "job orchestration history", "calls", outcomes.Select(o => (double)o.JobHistory));
        report.Add(part, "orchestration logic over the plan", "s", outcomes.Select(o => o.OrchestrationSeconds));
        report.Add(part, "plan in orchestration history (JSON)", "bytes", outcomes.Select(o => (double)o.PlanJsonBytes));
        report.Add(part, "host lanes", "count", outcomes.Select(o => (double)o.Lanes));
        report.Add(part, "intake before it (validate, normalise, store)", "s", intakes);
        var cap = CrawlOptions.MaxCallsPerOrchestration;
        report.AddTarget($"planning {options.PlanUrls:N0} URLs, time", "< 3 s", $"{time.Median:0.00} s", time.Median < 3, Report.Issue13);
        report.AddTarget($"planning {options.PlanUrls:N0} URLs, memory", "< 500 MB", $"{memory.Median:0} MB (max {memory.Max:0})", memory.Max < 500);
        report.AddTarget("largest orchestration history", $"≤ {cap} calls", $"{history.Max:0}", history.Max <= cap);
    }

    /// <summary>The child: one plan activity, then the orchestration logic over its plan; one JSON line.</summary>
    public static async Task<int> RunChildAsync(string storage, string jobId, string jobBlobName)
    {
        await using var core = CoreHost.Create(storage, concurrency: 16, maxBodyBytes: 1024);
        var activities = core.Provider.GetRequiredService<ICrawlActivities>();
        var started = Stopwatch.GetTimestamp();
        var plan = await activities.PlanAsync(new JobTicket(jobId, jobBlobName), CancellationToken.None);
        var planSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var peak = Measure.PeakRssBytes() ?? 0;

        // The plan's own computation again, without the blob writes: how much of the activity is the planner's work.
        var store = core.Provider.GetRequiredService<JobStore>();
        var job = await store.ReadJobAsync(jobBlobName, CancellationToken.None);
        started = Stopwatch.GetTimestamp();
        var urls = new List<string>(job.UrlCount);
        await foreach (var line in store.ReadLinesAsync(job.UrlListBlobName, CancellationToken.None))
        {
            urls.Add(line);
        }

        var (_, hostStarts) = CrawlPlanner.GroupByHost(urls);
        _ = BatchLayout.Assign(CrawlPlanner.HostSizes(hostStarts), job.Settings.BatchSize);
        var computeSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

        var calls = new Dictionary<string, int>(StringComparer.Ordinal);
        started = Stopwatch.GetTimestamp();
        await CrawlOrchestration.RunJobAsync(new CountingContext(jobId, plan, calls), new JobTicket(jobId, jobBlobName));
        var orchestrationSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Outcome(planSeconds, computeSeconds, peak, plan.UrlCount, plan.BatchCount, plan.ShardCount,
            plan.BatchesPerShard, calls.Values.Max(), calls[jobId], orchestrationSeconds, JsonSerializer.Serialize(plan).Length, plan.Lanes.Sum(l => l.Count))));
        return 0;
    }

    private static BinaryData UrlList(int count)
    {
        // A thousand hosts, as a broad crawl has; .test never resolves, and nothing here is fetched.
        var text = new StringBuilder(count * 40);
        for (var i = 0; i < count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"http://h{i % 1000}.bench.test/page/{i}\n");
        }

        return BinaryData.FromString(text.ToString());
    }

    /// <summary>The orchestration port with activities that answer at once; counts the calls each instance schedules.</summary>
    private sealed class CountingContext(string instanceId, CrawlPlan plan, Dictionary<string, int> calls) : ICrawlOrchestrationContext
    {
        public string InstanceId => instanceId;

        public DateTimeOffset CurrentUtcDateTime => DateTimeOffset.UnixEpoch;

        public ILogger ReplaySafeLogger => NullLogger.Instance;

        public Task<TResult> CallActivityAsync<TResult>(string name, object input)
        {
            Count();
            object result = name switch
            {
                CrawlFunctionNames.PlanActivity => plan,
                CrawlFunctionNames.FetchLaneActivity when input is LaneWork lane => new LaneProgress(new BatchStats { Batches = lane.EndBatch - lane.FromBatch }, lane.EndBatch),
                CrawlFunctionNames.WriteSummaryActivity => new CrawlSummary { JobId = plan.JobId, SummaryBlobName = "summary" },
                _ => throw new InvalidOperationException($"Unexpected activity {name}."),
            };
            return Task.FromResult((TResult)result);
        }

        public async Task<TResult> CallSubOrchestratorAsync<TResult>(string name, string instanceId, object input)
        {
            Count();
            object result = await CrawlOrchestration.RunShardAsync(new CountingContext(instanceId, plan, calls), (ShardWork)input);
            return (TResult)result;
        }

        public void SetCustomStatus(CrawlProgress status)
        {
        }

        private void Count() => calls[instanceId] = calls.GetValueOrDefault(instanceId) + 1;
    }
}
