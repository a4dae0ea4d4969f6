using System.Diagnostics;
using System.Globalization;
using System.Text;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Part 4: a whole job through the in-process runner (plan, fan-out over batches, fan-in, summary) with the
/// operator's default job settings, each run in a fresh Azurite. Besides wall time and URLs/s it measures the time no
/// fetch was in flight: planning, manifests, results, the summary and the gaps between batches.</summary>
internal static class WholeJob
{
    public static async Task RunAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        Measure.Progress("part 4: warming up with a small job in a throwaway Azurite");
        await RunJobAsync(server, Math.Clamp(options.JobUrls / 10, 100, 2_000), "warmup", options, cancellationToken);

        var outcomes = new List<JobOutcome>();
        for (var run = 0; run < options.Runs; run++)
        {
            var outcome = await RunJobAsync(server, options.JobUrls, $"run{run}", options, cancellationToken);
            outcomes.Add(outcome);
            Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                $"part 4 run {run + 1}: {options.JobUrls} URLs in {outcome.Wall.TotalSeconds:0.0} s, no fetch in flight {outcome.IdleShare:P1} of it, {outcome.AverageInFlight:0.0} fetches in flight on average"));
        }

        const string part = "4 whole job";
        report.Add(part, "wall time (plan, fan-out, fan-in, summary)", "s", outcomes.Select(o => o.Wall.TotalSeconds));
        report.Add(part, "URLs per second", "URLs/s", outcomes.Select(o => options.JobUrls / o.Wall.TotalSeconds));
        report.Add(part, "share of time with no fetch in flight", "%", outcomes.Select(o => o.IdleShare * 100));
        report.Add(part, "fetches in flight on average", "count", outcomes.Select(o => o.AverageInFlight));
        report.Add(part, "client CPU per URL", "µs", outcomes.Select(o => o.Cpu.TotalMicroseconds / options.JobUrls));
        report.Add(part, "intake before it (validate, normalise, store)", "s", outcomes.Select(o => o.Intake.TotalSeconds));
    }

    private sealed record JobOutcome(TimeSpan Wall, TimeSpan Cpu, double IdleShare, double AverageInFlight, TimeSpan Intake);

    private static async Task<JobOutcome> RunJobAsync(Uri server, int urls, string label, BenchOptions options, CancellationToken cancellationToken)
    {
        var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
        await using (azurite)
        {
            var busy = new BusyTracker();
            await using var core = CoreHost.Create(azurite.ConnectionString, options.Concurrency, options.BigBytes, before: services =>
            {
                // Registered first, so Core keeps this decorated engine.
                services.AddSingleton<FetchEngine>();
                services.AddSingleton<IFetchEngine>(provider => new TimedFetchEngine(provider.GetRequiredService<FetchEngine>(), busy));
            });

            // More URLs than a request may list inline: the job references a URL list blob, as big jobs do.
            var list = new StringBuilder();
            for (var i = 0; i < urls; i++)
            {
                list.Append(new Uri(server, string.Create(CultureInfo.InvariantCulture, $"page/{label}-{i}")).AbsoluteUri).Append('\n');
            }

            await container.UploadBlobAsync("_uploads/job-urls.txt", BinaryData.FromString(list.ToString()), cancellationToken);
            var intakeStarted = Stopwatch.GetTimestamp();
            var submitted = await core.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest { UrlListBlob = "_uploads/job-urls.txt" }, cancellationToken);
            var intake = Stopwatch.GetElapsedTime(intakeStarted);
            var ticket = submitted.Ticket ?? throw new InvalidOperationException(
                $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");

            var runner = core.Provider.GetRequiredService<ICrawlRunner>();
            var sample = await Measure.RunAsync(async () =>
            {
                var summary = await runner.RunAsync(ticket, progress: null, cancellationToken);
                if (summary.Succeeded != urls || summary.BodiesStored != urls)
                {
                    throw new InvalidOperationException($"The job fetched {summary.Succeeded} and stored {summary.BodiesStored} of {urls} URLs.");
                }
            });
            return new JobOutcome(sample.Wall, sample.Cpu, 1 - busy.Busy / sample.Wall, busy.FetchTime / sample.Wall, intake);
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

    private sealed class TimedFetchEngine(IFetchEngine inner, BusyTracker busy) : IFetchEngine
    {
        public async Task<FetchResult> FetchAsync(FetchRequest request, CancellationToken cancellationToken)
        {
            var entered = busy.Enter();
            try
            {
                return await inner.FetchAsync(request, cancellationToken);
            }
            finally
            {
                busy.Exit(entered);
            }
        }
    }
}
