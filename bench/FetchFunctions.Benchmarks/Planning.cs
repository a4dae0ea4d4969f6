using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Benchmarks;

/// <summary>Part 5: planning big jobs, one size after another (1,000,000 and 10,000,000 URLs by default). The benchmark
/// uploads the URL list blob, a child process submits the job (intake: validate, normalise, de-duplicate, store) so that
/// its peak RSS is intake's, then another child runs the plan activity (read the list, split it by host hash when it is
/// bigger than a partition, group, write the batch manifests) so that its peak RSS is the planner's; that child then runs
/// the orchestration logic over the plan with activities that answer at once, counting the calls each orchestration
/// schedules (its history) against the cap and measuring the largest input it passes. Nothing is fetched: the URLs name
/// hosts under the reserved .test domain, which never resolves.</summary>
internal static class Planning
{
    public const string Command = "__plan";

    public const string IntakeCommand = "__intake";

    private const string ListBlob = "_uploads/plan-urls.txt";

    /// <summary>Peak RSS allowed to intake and to the plan activity: half a 2,048 MB Flex Consumption instance, which keeps
    /// room for the batch activities beside them.</summary>
    private const double MemoryTargetMb = 1000;

    private sealed record Outcome(double PlanSeconds, double ComputeSeconds, long PeakRssBytes, int Urls, int Batches, int Shards, int BatchesPerShard,
        int LargestHistory, int JobHistory, double OrchestrationSeconds, int PlanJsonBytes, int Lanes, int LargestShardInputBytes, double PlanCpuSeconds,
        double AzuriteCpuSeconds, IReadOnlyList<PlanPhase> Phases);

    private sealed record IntakeOutcome(double Seconds, long PeakRssBytes, string JobId, string JobBlobName, int Urls, double CpuSeconds);

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        foreach (var size in options.PlanUrls)
        {
            await RunSizeAsync(options, size, report, cancellationToken);
        }
    }

    private static async Task RunSizeAsync(BenchOptions options, int size, Report report, CancellationToken cancellationToken)
    {
        var outcomes = new List<Outcome>();
        var intakes = new List<IntakeOutcome>();
        for (var run = 0; run < options.Runs; run++)
        {
            var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
            await using (azurite)
            {
                await UploadUrlListAsync(container, size, options.PlanHosts, cancellationToken);
                IntakeOutcome intake;
                await using (var intakeChild = ChildProcess.Start(IntakeCommand, azurite.ConnectionString, ListBlob))
                {
                    intake = JsonSerializer.Deserialize<IntakeOutcome>(await intakeChild.ReadLineAsync(cancellationToken))
                        ?? throw new InvalidOperationException("The intake child answered nothing.");
                    if (await intakeChild.WaitForExitAsync(cancellationToken) != 0 || intake.Urls != size)
                    {
                        throw new InvalidOperationException($"Intake failed: {intake}");
                    }
                }

                intakes.Add(intake);
                var loadBefore = ProcessCpu.LoadAverage();
                await using var child = ChildProcess.Start(Command, azurite.ConnectionString, intake.JobId, intake.JobBlobName,
                    azurite.ProcessId.ToString(CultureInfo.InvariantCulture));
                var outcome = JsonSerializer.Deserialize<Outcome>(await child.ReadLineAsync(cancellationToken))
                    ?? throw new InvalidOperationException("The planning child answered nothing.");
                if (await child.WaitForExitAsync(cancellationToken) != 0 || outcome.Urls != size)
                {
                    throw new InvalidOperationException($"Planning failed: {outcome}");
                }

                outcomes.Add(outcome);
                var load = string.Create(CultureInfo.InvariantCulture, $"load average {loadBefore} before planning, {ProcessCpu.LoadAverage()} after");
                report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"part 5, {size:N0} URLs, run {run + 1}: {load}"));
                Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                    $"part 5 run {run + 1}: intake of {size} URLs {intake.Seconds:0.0} s (CPU {intake.CpuSeconds:0.0} s), peak {intake.PeakRssBytes / 1e6:0} MB; planned in {outcome.PlanSeconds:0.00} s (CPU {outcome.PlanCpuSeconds:0.0} s, Azurite CPU {outcome.AzuriteCpuSeconds:0.0} s), peak {outcome.PeakRssBytes / 1e6:0} MB, {outcome.Batches} batches, {outcome.Shards} shards, largest history {outcome.LargestHistory} calls; {load}"));
                foreach (var phase in outcome.Phases)
                {
                    Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                        $"  phase {phase.Name}: {phase.WallSeconds:0.00} s wall, planner CPU {phase.PlannerCpuSeconds:0.00} s, Azurite CPU {phase.AzuriteCpuSeconds:0.00} s, peak RSS so far {phase.PeakRssMb:0} MB"));
                }
            }
        }

        var part = options.PlanHosts == 1_000
            ? string.Create(CultureInfo.InvariantCulture, $"5 planning {size:N0}")
            : string.Create(CultureInfo.InvariantCulture, $"5 planning {size:N0} ({options.PlanHosts:N0} hosts)");
        var time = report.Add(part, "plan activity (read list, group, write manifests)", "s", outcomes.Select(o => o.PlanSeconds));
        report.Add(part, "  planner process CPU during it", "s", outcomes.Select(o => o.PlanCpuSeconds));
        report.Add(part, "  Azurite process CPU during it", "s", outcomes.Select(o => o.AzuriteCpuSeconds));
        foreach (var name in outcomes.SelectMany(o => o.Phases).Select(p => p.Name).Distinct(StringComparer.Ordinal))
        {
            var phases = outcomes.SelectMany(o => o.Phases).Where(p => p.Name == name).ToList();
            report.Add(part, $"  phase {name}: wall", "s", phases.Select(p => p.WallSeconds));
            report.Add(part, $"  phase {name}: planner CPU", "s", phases.Select(p => p.PlannerCpuSeconds));
            report.Add(part, $"  phase {name}: Azurite CPU", "s", phases.Select(p => p.AzuriteCpuSeconds));
        }

        if (outcomes.All(o => o.ComputeSeconds > 0))
        {
            report.Add(part, "  of which reading the list and grouping", "s", outcomes.Select(o => o.ComputeSeconds));
        }

        var memory = report.Add(part, "planner process peak RSS", "MB", outcomes.Select(o => o.PeakRssBytes / 1e6));
        report.Add(part, "batches", "count", outcomes.Select(o => (double)o.Batches));
        report.Add(part, "shards (sub-orchestrations)", "count", outcomes.Select(o => (double)o.Shards));
        var history = report.Add(part, "largest orchestration history", "calls", outcomes.Select(o => (double)o.LargestHistory));
        report.Add(part, "job orchestration history", "calls", outcomes.Select(o => (double)o.JobHistory));
        report.Add(part, "orchestration logic over the plan", "s", outcomes.Select(o => o.OrchestrationSeconds));
        var planBytes = report.Add(part, "plan in orchestration history (JSON)", "bytes", outcomes.Select(o => (double)o.PlanJsonBytes));
        var shardBytes = report.Add(part, "largest shard input (JSON)", "bytes", outcomes.Select(o => (double)o.LargestShardInputBytes));
        report.Add(part, "host lanes", "count", outcomes.Select(o => (double)o.Lanes));
        var intakeTime = report.Add(part, "intake before it (validate, normalise, de-duplicate, store)", "s", intakes.Select(i => i.Seconds));
        report.Add(part, "  intake process CPU during it", "s", intakes.Select(i => i.CpuSeconds));
        var intakeMemory = report.Add(part, "intake process peak RSS", "MB", intakes.Select(i => i.PeakRssBytes / 1e6));
        var cap = CrawlOptions.MaxCallsPerOrchestration;
        var (timeRule, timeLimit) = size <= 1_000_000 ? ("< 3 s", 3.0) : ("≤ 60 s", 60.0);
        report.AddTarget($"planning {size:N0} URLs, time", timeRule, $"{time.Median:0.00} s", size <= 1_000_000 ? time.Median < timeLimit : time.Median <= timeLimit,
            size <= 1_000_000 ? Report.Issue13 : Report.Issue20);
        report.AddTarget($"planning {size:N0} URLs, peak RSS", $"≤ {MemoryTargetMb:0} MB", $"{memory.Median:0} MB (max {memory.Max:0})",
            memory.Max <= MemoryTargetMb, Report.Issue20);
        report.AddTarget($"intake of a {size:N0}-line URL list, peak RSS", $"≤ {MemoryTargetMb:0} MB",
            $"{intakeMemory.Median:0} MB (max {intakeMemory.Max:0}), {intakeTime.Median:0.0} s", intakeMemory.Max <= MemoryTargetMb, Report.Issue20);
        report.AddTarget($"planning {size:N0} URLs, largest orchestration history", $"≤ {cap} calls",
            $"{history.Max:0} calls; plan {planBytes.Max:0} B, shard input ≤ {shardBytes.Max:0} B", history.Max <= cap, Report.Issue20);
    }

    /// <summary>The child of intake: submits the uploaded list; one JSON line.</summary>
    public static async Task<int> RunIntakeChildAsync(string storage, string listBlob)
    {
        await using var core = CoreHost.Create(storage, concurrency: 16, maxBodyBytes: 1024);
        var started = Stopwatch.GetTimestamp();
        var cpu = Environment.CpuUsage.TotalTime;
        var submitted = await core.Provider.GetRequiredService<ICrawlIntake>()
            .SubmitAsync(new CrawlJobRequest { UrlListBlob = listBlob }, CancellationToken.None);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        cpu = Environment.CpuUsage.TotalTime - cpu;
        var ticket = submitted.Ticket ?? throw new InvalidOperationException(
            $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(
            new IntakeOutcome(seconds, Measure.PeakRssBytes() ?? 0, ticket.JobId, ticket.JobBlobName, submitted.UrlCount, cpu.TotalSeconds)));
        return 0;
    }

    /// <summary>The child: one plan activity, then the orchestration logic over its plan; one JSON line.</summary>
    public static async Task<int> RunChildAsync(string storage, string jobId, string jobBlobName, int azuritePid)
    {
        var phases = new PlanPhaseRecorder(azuritePid);
        await using var core = CoreHost.Create(storage, concurrency: 16, maxBodyBytes: 1024,
            before: services => services.AddLogging(logging => logging.AddProvider(phases).AddFilter(typeof(CrawlPlanner).FullName, LogLevel.Debug)));
        var activities = core.Provider.GetRequiredService<ICrawlActivities>();
        var started = Stopwatch.GetTimestamp();
        var cpu = Environment.CpuUsage.TotalTime;
        var azuriteCpu = ProcessCpu.Seconds(azuritePid);
        phases.Restart();
        var plan = await activities.PlanAsync(new JobTicket(jobId, jobBlobName), CancellationToken.None);
        var planSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        cpu = Environment.CpuUsage.TotalTime - cpu;
        azuriteCpu = ProcessCpu.Seconds(azuritePid) - azuriteCpu;
        var peak = Measure.PeakRssBytes() ?? 0;

        // The plan's own computation again, without the blob writes: how much of the activity is the planner's work.
        // Only for a job the planner holds in memory: a bigger one's grouping is interleaved with its partition blobs.
        var computeSeconds = 0.0;
        var store = core.Provider.GetRequiredService<JobStore>();
        var job = await store.ReadJobAsync(jobBlobName, CancellationToken.None);
        if (job.UrlCount <= core.Provider.GetRequiredService<IOptions<CrawlOptions>>().Value.PlanPartitionUrls)
        {
            started = Stopwatch.GetTimestamp();
            var urls = new Utf8UrlList(job.UrlCount);
            await foreach (var block in store.ReadLineBlocksAsync(job.UrlListBlobName, null, 4 * 1024 * 1024, 2, CancellationToken.None))
            {
                foreach (var line in new Utf8Lines(block.Span))
                {
                    urls.Add(line);
                }
            }

            var (_, hostStarts) = CrawlPlanner.GroupByHost(urls);
            _ = BatchLayout.Assign(CrawlPlanner.HostSizes(hostStarts), job.Settings.BatchSize);
            computeSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        var calls = new Dictionary<string, int>(StringComparer.Ordinal);
        started = Stopwatch.GetTimestamp();
        await CrawlOrchestration.RunJobAsync(new CountingContext(jobId, plan, calls), new JobTicket(jobId, jobBlobName));
        var orchestrationSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var largestShardInput = plan.ShardCount <= 1 ? 0 : CrawlOrchestration.Shards(plan).Max(shard => JsonSerializer.Serialize(shard).Length);

        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Outcome(planSeconds, computeSeconds, peak, plan.UrlCount, plan.BatchCount, plan.ShardCount,
            plan.BatchesPerShard, calls.Values.Max(), calls[jobId], orchestrationSeconds, JsonSerializer.Serialize(plan).Length, plan.Lanes.Sum(l => l.Count),
            largestShardInput, cpu.TotalSeconds, azuriteCpu, phases.Phases)));
        return 0;
    }

    /// <summary>Uploads <paramref name="count"/> URLs in staged blocks, generated as they go (10,000,000 URLs are 450 MB).
    /// By default a thousand hosts, as a broad crawl has; .test never resolves, and nothing here is fetched.</summary>
    private static Task UploadUrlListAsync(BlobContainerClient container, int count, int hosts, CancellationToken cancellationToken) =>
        UploadUrlListAsync(container, ListBlob, count, i => string.Create(CultureInfo.InvariantCulture, $"http://h{i % hosts}.bench.test/page/{i}"),
            cancellationToken);

    /// <summary>Uploads URL i = 0 … <paramref name="count"/> − 1 of <paramref name="url"/>, one per line, in staged blocks.</summary>
    internal static async Task UploadUrlListAsync(BlobContainerClient container, string blobName, int count, Func<int, string> url,
        CancellationToken cancellationToken)
    {
        var blob = container.GetBlockBlobClient(blobName);
        var blocks = new List<string>();
        var text = new StringBuilder(4 * 1024 * 1024 + 16 * 1024);
        for (var i = 0; i <= count; i++)
        {
            if (i < count)
            {
                text.Append(url(i)).Append('\n');
            }

            if (text.Length >= 4 * 1024 * 1024 || (i == count && text.Length > 0))
            {
                var id = Convert.ToBase64String(BitConverter.GetBytes(blocks.Count));
                using var content = new MemoryStream(Encoding.UTF8.GetBytes(text.ToString()));
                await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken);
                blocks.Add(id);
                text.Clear();
            }
        }

        await blob.CommitBlockListAsync(blocks, cancellationToken: cancellationToken);
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
                CrawlFunctionNames.MergeShardIndexActivity => 0L,
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
