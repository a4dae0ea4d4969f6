using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure.Storage.Blobs;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Part 4: a whole job over the 50 loopback hosts (so host lanes do not serialise it) through the in-process
/// runner (plan, fan-out over batches, fan-in, summary) with the operator's default job settings, against a bare
/// fetch-then-upload loop (HttpClient, one Put Blob per body, <c>Parallel.ForEachAsync</c> at the job's total
/// concurrency) over the same URLs. Each side of each run gets a fresh Azurite of its own; the sides alternate which
/// goes first. Besides URLs/s it measures what of the job's wall time is not fetching and storing bodies.</summary>
internal static class WholeJob
{
    /// <summary>Which host runs the job's orchestration.</summary>
    internal enum Runner
    {
        /// <summary>Core's in-process runner, as the CLI runs a job.</summary>
        InProcess,

        /// <summary>The Functions app's orchestrators and activities in the Durable in-process test host.</summary>
        Durable,
    }

    public static async Task RunAsync(BenchOptions options, IReadOnlyList<Uri> origins, Report report, CancellationToken cancellationToken)
    {
        var concurrency = TotalConcurrency(origins.Count);
        var warmup = Math.Clamp(options.JobUrls / 10, ManyHosts.Hosts, 1_000);
        Measure.Progress($"part 4: warming up with {warmup}-URL jobs and bare loops, throwaway Azurites; bare loop at {concurrency} in flight");
        await Measure.WarmUpAsync(WarmupTime(options), async () =>
        {
            await RunJobAsync(origins, warmup, "warmup", options, Runner.InProcess, cancellationToken);
            await RunBareAsync(origins, warmup, "warmup", concurrency, cancellationToken);
        });

        var engine = new List<JobOutcome>();
        var bare = new List<Sample>();
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var isEngine in Measure.BaselineFirst(run) ? new[] { false, true } : [true, false])
            {
                if (isEngine)
                {
                    engine.Add(await RunJobAsync(origins, options.JobUrls, $"run{run}", options, Runner.InProcess, cancellationToken));
                }
                else
                {
                    bare.Add(await RunBareAsync(origins, options.JobUrls, $"run{run}", concurrency, cancellationToken));
                }
            }

            Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                $"part 4 run {run + 1}: {options.JobUrls} URLs, in-process runner {options.JobUrls / engine[^1].Wall.TotalSeconds:0} URLs/s ({engine[^1].OverheadShare:P1} overhead, {engine[^1].AverageInFlight:0.0} in flight), bare loop {bare[^1].Rate(options.JobUrls):0} URLs/s"));
        }

        const string part = "4 whole job";
        var urls = options.JobUrls;
        var engineRate = report.Add(part, $"in-process runner, {urls} URLs over {origins.Count} hosts", "URLs/s", engine.Select(o => urls / o.Wall.TotalSeconds));
        var bareRate = report.Add(part, $"bare fetch-then-upload loop, {concurrency} in flight", "URLs/s", bare.Select(s => s.Rate(urls)));
        var ratio = report.Add(part, "runner / bare loop", "ratio", engine.Zip(bare, (e, b) => b.Wall / e.Wall));
        report.Add(part, "runner wall time (plan, fan-out, fan-in, summary)", "s", engine.Select(o => o.Wall.TotalSeconds));
        report.Add(part, "bare loop wall time", "s", bare.Select(s => s.Wall.TotalSeconds));
        var overhead = AddOverheadFigures(report, part, engine);
        report.Add(part, "runner client CPU per URL", "µs", engine.Select(o => o.Cpu.TotalMicroseconds / urls));
        report.Add(part, "bare loop client CPU per URL", "µs", bare.Select(s => s.CpuMicrosecondsPer(urls)));
        report.Add(part, "intake before the run (validate, normalise, store; not timed above)", "s", engine.Select(o => o.Intake.TotalSeconds));
        report.AddTarget("whole job, in-process runner / bare fetch-then-upload loop", "≥ 0.90",
            $"{ratio.Median:0.00} ({engineRate.Median:0} vs {bareRate.Median:0} URLs/s)", ratio.Median >= 0.9, Report.Issue13);
        report.AddTarget("whole job, share of wall time not fetching/storing bodies", "< 10 %", $"{overhead.Median:0.0} %", overhead.Median < 10,
            Report.Issue13);
    }

    /// <summary>Part 4b: one host's pages (the issue 18 case), per-host limit raised to the bare loop's concurrency and
    /// batches of the largest size, through the WARC store and the blobs store, against the bare loop at that
    /// concurrency; each side counts its storage writes.</summary>
    public static async Task OneHostAsync(BenchOptions options, Uri origin, Report report, CancellationToken cancellationToken)
    {
        var concurrency = TotalConcurrency(ManyHosts.Hosts);
        var urls = options.OneHostUrls;
        var origins = new[] { origin };
        var c = concurrency.ToString(CultureInfo.InvariantCulture);
        Dictionary<string, string?> Settings(string store) => new()
        {
            ["Crawl:Store"] = store,
            ["Crawl:MaxConcurrency"] = c,
            ["Crawl:MaxConcurrencyPerHost"] = c,
            ["Crawl:BatchSize"] = new CrawlOptions().MaxBatchSize.ToString(CultureInfo.InvariantCulture),
            ["Fetch:MaxConnectionsPerServer"] = c,
        };

        Measure.Progress($"part 4b: one host, {urls} URLs, {concurrency} in flight: warming up");
        await RunJobAsync(origins, Math.Min(urls, 1_000), "warmup-w", options, Runner.InProcess, cancellationToken, Settings(StoreKinds.Warc));
        await RunJobAsync(origins, Math.Min(urls, 1_000), "warmup-b", options, Runner.InProcess, cancellationToken, Settings(StoreKinds.Blobs));
        await RunBareAsync(origins, Math.Min(urls, 1_000), "warmup", concurrency, cancellationToken);

        var sides = new Dictionary<string, List<(Sample Sample, double WritesPer1000)>> { ["warc"] = [], ["blobs"] = [], ["bare"] = [] };
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var side in Measure.BaselineFirst(run) ? new[] { "bare", "blobs", "warc" } : ["warc", "blobs", "bare"])
            {
                var counter = new RequestCounter();
                Sample sample = side == "bare"
                    ? await RunBareAsync(origins, urls, $"one{run}", concurrency, cancellationToken, counter)
                    : await RunJobSampleAsync(side);
                sides[side].Add((sample, counter.Writes * 1000.0 / urls));

                async Task<Sample> RunJobSampleAsync(string store)
                {
                    var outcome = await RunJobAsync(origins, urls, $"one{run}{store}", options, Runner.InProcess, cancellationToken, Settings(store), counter);
                    return new Sample(outcome.Wall, outcome.Cpu);
                }
            }

            Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                $"part 4b run {run + 1}: WARC {urls / sides["warc"][^1].Sample.Wall.TotalSeconds:0} URLs/s, blobs {urls / sides["blobs"][^1].Sample.Wall.TotalSeconds:0} URLs/s, bare {urls / sides["bare"][^1].Sample.Wall.TotalSeconds:0} URLs/s; writes per 1,000: {sides["warc"][^1].WritesPer1000:0.0} / {sides["blobs"][^1].WritesPer1000:0} / {sides["bare"][^1].WritesPer1000:0}"));
        }

        const string part = "4b one host";
        foreach (var (side, label) in new[] { ("warc", "runner, WARC store"), ("blobs", "runner, blobs store"), ("bare", $"bare fetch-then-Put-Blob loop, {concurrency} in flight") })
        {
            report.Add(part, $"{label}: {urls} URLs on one host", "URLs/s", sides[side].Select(s => urls / s.Sample.Wall.TotalSeconds));
            report.Add(part, $"{label}: client CPU per URL", "µs", sides[side].Select(s => s.Sample.Cpu.TotalMicroseconds / urls));
            var writes = report.Add(part, $"{label}: storage writes per 1,000 URLs", "count", sides[side].Select(s => s.WritesPer1000));
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"4b {label}: {writes.Median:0.0} storage writes per 1,000 URLs = ${RequestCounter.Dollars(writes.Median * 1000):0.000} per 1,000,000 URLs at ${RequestCounter.DollarsPer10kWrites} per 10,000 writes."));
        }

        var ratio = report.Add(part, "WARC store / bare loop", "ratio", sides["warc"].Zip(sides["bare"], (w, b) => b.Sample.Wall / w.Sample.Wall));
        report.Add(part, "blobs store / bare loop", "ratio", sides["blobs"].Zip(sides["bare"], (w, b) => b.Sample.Wall / w.Sample.Wall));
        report.AddTarget($"whole job, {urls} × {options.PageBytes / 1024} KiB on one host, WARC store / bare Put Blob loop URLs/s", "≥ 3.0",
            $"{ratio.Median:0.00}", ratio.Median >= 3, Report.Issue18);
    }

    /// <summary>Warm-up jobs repeat for this long: a job's code paths need seconds of calls before tiered compilation has
    /// made them the steady-state code (and its background compiles stop adding CPU time).</summary>
    internal static TimeSpan WarmupTime(BenchOptions options) => TimeSpan.FromSeconds(options.Quick ? 3 : 10);

    /// <summary>The overhead figures of a runner's job outcomes; returns the overhead share (the target's figure).</summary>
    private static Figure AddOverheadFigures(Report report, string part, List<JobOutcome> outcomes)
    {
        var share = report.Add(part, "overhead: (plan + summary + batch bookkeeping ÷ window) / wall", "%", outcomes.Select(o => o.OverheadShare * 100));
        report.Add(part, "  plan activity", "s", outcomes.Select(o => o.Plan.TotalSeconds));
        report.Add(part, "  summary activity", "s", outcomes.Select(o => o.Summary.TotalSeconds));
        report.Add(part, "  bookkeeping per batch (a lane call's time before its first fetch and after its last, per batch committed)", "ms",
            outcomes.Select(o => o.Bookkeeping.TotalMilliseconds / Math.Max(1, o.Batches)));
        report.Add(part, "share of wall time with no fetch in flight", "%", outcomes.Select(o => o.IdleShare * 100));
        report.Add(part, "fetches in flight on average", "count", outcomes.Select(o => o.AverageInFlight));
        return share;
    }

    /// <summary>Fetches in flight across the job at the operator's defaults: the window of batches times a batch's
    /// concurrency, or the hosts times their per-host limit if that is less.</summary>
    internal static int TotalConcurrency(int hosts)
    {
        var defaults = new CrawlOptions();
        return Math.Min(defaults.MaxBatchesInFlight * defaults.MaxConcurrency, hosts * defaults.MaxConcurrencyPerHost);
    }

    /// <summary>One job's figures. <see cref="OverheadShare"/> is the part of the wall time not spent fetching and
    /// storing bodies: the plan and summary activities (nothing is fetched while they run) plus every lane call's
    /// bookkeeping (reading the job and the first manifest before its first fetch starts, committing after its last fetch
    /// ends; what it reads and commits between overlaps its fetches) divided by the window, since that many lane calls
    /// keep their bookkeeping on parallel paths.</summary>
    internal sealed record JobOutcome(TimeSpan Wall, TimeSpan Cpu, double IdleShare, double AverageInFlight, TimeSpan Intake,
        TimeSpan Plan, TimeSpan Summary, TimeSpan Bookkeeping, int Batches, int Window)
    {
        public double OverheadShare => (Plan + Summary + Bookkeeping / Math.Max(1, Window)) / Wall;
    }

    /// <summary>The job's URLs: page <c>{label}-i</c> on host i mod hosts.</summary>
    internal static string UrlList(IReadOnlyList<Uri> origins, int urls, string label)
    {
        var list = new StringBuilder();
        for (var i = 0; i < urls; i++)
        {
            list.Append(JobUrl(origins, i, label).AbsoluteUri).Append('\n');
        }

        return list.ToString();
    }

    private static Uri JobUrl(IReadOnlyList<Uri> origins, int i, string label) =>
        new(origins[i % origins.Count], string.Create(CultureInfo.InvariantCulture, $"page/{label}-{i}"));

    /// <summary>One job in a fresh Azurite, through the runner asked for; intake is done before and not timed.</summary>
    internal static async Task<JobOutcome> RunJobAsync(IReadOnlyList<Uri> origins, int urls, string label, BenchOptions options, Runner runner,
        CancellationToken cancellationToken, IDictionary<string, string?>? settings = null, RequestCounter? counter = null)
    {
        var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
        await using (azurite)
        {
            var timings = new JobTimings();

            // More URLs than a request may list inline: the job references a URL list blob, as big jobs do.
            await container.UploadBlobAsync("_uploads/job-urls.txt", BinaryData.FromString(UrlList(origins, urls, label)), cancellationToken);
            var (sample, intake, summary) = runner == Runner.InProcess
                ? await RunInProcessAsync(azurite.ConnectionString, timings, options, cancellationToken, settings, counter)
                : await DurableJob.RunOneAsync(azurite.ConnectionString, timings, options, cancellationToken);
            if (summary.Succeeded != urls || summary.BodiesStored != urls)
            {
                throw new InvalidOperationException($"The job fetched {summary.Succeeded} and stored {summary.BodiesStored} of {urls} URLs ({runner}).");
            }

            return timings.Outcome(sample, intake);
        }
    }

    private static async Task<(Sample Sample, TimeSpan Intake, CrawlSummary Summary)> RunInProcessAsync(string storage, JobTimings timings,
        BenchOptions options, CancellationToken cancellationToken, IDictionary<string, string?>? settings = null, RequestCounter? counter = null)
    {
        await using var core = CoreHost.Create(storage, options.Concurrency, options.BigBytes, settings, before: timings.Register, counter: counter);
        var (ticket, intake) = await SubmitAsync(core.Provider, cancellationToken);
        // Only the run's writes: intake's (job.json, urls.txt) are the same for every store.
        counter?.Reset();
        var runner = core.Provider.GetRequiredService<ICrawlRunner>();
        CrawlSummary? summary = null;
        var sample = await Measure.RunAsync(async () => summary = await runner.RunAsync(ticket, progress: null, cancellationToken));
        return (sample, intake, summary!);
    }

    /// <summary>Submits the job whose URL list was uploaded, through Core's intake; returns its ticket and the intake's time.</summary>
    internal static async Task<(JobTicket Ticket, TimeSpan Intake)> SubmitAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var submitted = await services.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest { UrlListBlob = "_uploads/job-urls.txt" }, cancellationToken);
        var intake = Stopwatch.GetElapsedTime(started);
        var ticket = submitted.Ticket ?? throw new InvalidOperationException(
            $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");
        return (ticket, intake);
    }

    /// <summary>The bare loop: for every URL of the job, GET it, read the body, one Put Blob; at <paramref name="concurrency"/>
    /// in flight, into a fresh Azurite of its own.</summary>
    private static async Task<Sample> RunBareAsync(IReadOnlyList<Uri> origins, int urls, string label, int concurrency, CancellationToken cancellationToken,
        RequestCounter? counter = null)
    {
        var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
        await using (azurite)
        {
            if (counter is not null)
            {
                var clientOptions = new BlobClientOptions();
                clientOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerRetry);
                container = new BlobServiceClient(azurite.ConnectionString, clientOptions).GetBlobContainerClient(CoreHost.ContainerName);
            }

            using var client = SmallPages.CreateBareClient(concurrency);
            var targets = Enumerable.Range(0, urls).Select(i => JobUrl(origins, i, label)).Select(url => (Url: url, Blob: BlobNames.Body("bare", url))).ToArray();
            var sample = await Measure.RunAsync(() => Parallel.ForEachAsync(targets,
                new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
                (target, ct) => FetchThenUploadAsync(client, container, target.Url, target.Blob, ct)));
            var stored = 0;
            await foreach (var _ in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "bare/", cancellationToken))
            {
                stored++;
            }

            return stored >= urls ? sample : throw new InvalidOperationException($"The bare loop stored {stored} of {urls} bodies.");
        }
    }

    private static async ValueTask FetchThenUploadAsync(HttpClient client, BlobContainerClient container, Uri url, string blob, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        await container.GetBlobClient(blob).UploadAsync(BinaryData.FromBytes(body), overwrite: true, cancellationToken);
    }

    /// <summary>Times a job from inside its services: every fetch (engine decorator) and every activity (activities
    /// decorator), the same for both runners. A lane call's fetches find their call through an async-local clock.</summary>
    internal sealed class JobTimings
    {
        private static readonly AsyncLocal<BatchClock?> CurrentBatch = new();

        private readonly Lock _lock = new();
        private TimeSpan _plan;
        private TimeSpan _summary;
        private TimeSpan _bookkeeping;
        private int _batches;
        private int _window;

        public WholeJob.BusyTracker Fetches { get; } = new();

        /// <summary>Registers the decorated engine and activities; before Core, which then keeps them.</summary>
        public void Register(IServiceCollection services)
        {
            services.AddSingleton<FetchEngine>();
            services.AddSingleton<IFetchEngine>(provider => new TimedFetchEngine(provider.GetRequiredService<FetchEngine>(), this));
            services.AddSingleton<CrawlActivities>();
            services.AddSingleton<ICrawlActivities>(provider => new TimedActivities(provider.GetRequiredService<CrawlActivities>(), this));
        }

        public JobOutcome Outcome(Sample sample, TimeSpan intake)
        {
            lock (_lock)
            {
                return new JobOutcome(sample.Wall, sample.Cpu, 1 - Fetches.Busy / sample.Wall, Fetches.FetchTime / sample.Wall, intake, _plan, _summary,
                    _bookkeeping, _batches, _window);
            }
        }

        private void Add(ref TimeSpan total, TimeSpan time)
        {
            lock (_lock)
            {
                total += time;
            }
        }

        private sealed class BatchClock
        {
            public long FirstStart = long.MaxValue;
            public long LastEnd;
        }

        private sealed class TimedFetchEngine(IFetchEngine inner, JobTimings timings) : IFetchEngine
        {
            public async Task<FetchResult> FetchAsync(FetchRequest request, CancellationToken cancellationToken)
            {
                var clock = CurrentBatch.Value;
                var entered = timings.Fetches.Enter();
                if (clock is not null)
                {
                    for (var first = Volatile.Read(ref clock.FirstStart); entered < first;)
                    {
                        first = Interlocked.CompareExchange(ref clock.FirstStart, entered, first) == first ? entered : Volatile.Read(ref clock.FirstStart);
                    }
                }

                try
                {
                    return await inner.FetchAsync(request, cancellationToken);
                }
                finally
                {
                    timings.Fetches.Exit(entered);
                    if (clock is not null)
                    {
                        var ended = Stopwatch.GetTimestamp();
                        for (var last = Volatile.Read(ref clock.LastEnd); ended > last;)
                        {
                            last = Interlocked.CompareExchange(ref clock.LastEnd, ended, last) == last ? ended : Volatile.Read(ref clock.LastEnd);
                        }
                    }
                }
            }
        }

        private sealed class TimedActivities(ICrawlActivities inner, JobTimings timings) : ICrawlActivities
        {
            public Task<CrawlPlan> PlanRoundAsync(RoundTicket round, CancellationToken cancellationToken) => inner.PlanRoundAsync(round, cancellationToken);

            public async Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken)
            {
                var started = Stopwatch.GetTimestamp();
                var plan = await inner.PlanAsync(ticket, cancellationToken);
                timings.Add(ref timings._plan, Stopwatch.GetElapsedTime(started));
                lock (timings._lock)
                {
                    timings._window = plan.MaxBatchesInFlight;
                }

                return plan;
            }

            public async Task<LaneProgress> FetchLaneAsync(LaneWork lane, IProgress<BatchStats>? committed, CancellationToken cancellationToken)
            {
                var clock = new BatchClock();
                CurrentBatch.Value = clock;
                var started = Stopwatch.GetTimestamp();
                var batches = 0;
                try
                {
                    var progress = await inner.FetchLaneAsync(lane, committed, cancellationToken);
                    batches = progress.Stats.Batches;
                    return progress;
                }
                finally
                {
                    var ended = Stopwatch.GetTimestamp();
                    var bookkeeping = clock.FirstStart == long.MaxValue
                        ? Stopwatch.GetElapsedTime(started, ended)
                        : Stopwatch.GetElapsedTime(started, clock.FirstStart) + Stopwatch.GetElapsedTime(clock.LastEnd, ended);
                    lock (timings._lock)
                    {
                        timings._bookkeeping += bookkeeping;
                        timings._batches += batches;
                    }
                }
            }

            public Task<long> MergeShardIndexAsync(ShardIndexWork work, CancellationToken cancellationToken) => inner.MergeShardIndexAsync(work, cancellationToken);

            public async Task<CrawlSummary> WriteSummaryAsync(SummaryWork work, CancellationToken cancellationToken)
            {
                var started = Stopwatch.GetTimestamp();
                var summary = await inner.WriteSummaryAsync(work, cancellationToken);
                timings.Add(ref timings._summary, Stopwatch.GetElapsedTime(started));
                return summary;
            }
        }
    }

    /// <summary>Adds up the time at least one fetch (fetch + store) was in flight.</summary>
    internal sealed class BusyTracker
    {
        private readonly Lock _lock = new();
        private int _inFlight;
        private long _busySince;
        private TimeSpan _busy;
        private long _fetchTicks;

        /// <summary>The durations of all fetches added up.</summary>
        public TimeSpan FetchTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _fetchTicks));

        public TimeSpan Busy
        {
            get
            {
                lock (_lock)
                {
                    return _busy;
                }
            }
        }

        public long Enter()
        {
            lock (_lock)
            {
                if (_inFlight++ == 0)
                {
                    _busySince = Stopwatch.GetTimestamp();
                }
            }

            return Stopwatch.GetTimestamp();
        }

        public void Exit(long entered)
        {
            Interlocked.Add(ref _fetchTicks, Stopwatch.GetTimestamp() - entered);
            lock (_lock)
            {
                if (--_inFlight == 0)
                {
                    _busy += Stopwatch.GetElapsedTime(_busySince);
                }
            }
        }
    }
}
