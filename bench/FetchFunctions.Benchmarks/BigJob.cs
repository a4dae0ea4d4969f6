using System.Globalization;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Part <c>bigjob</c> (not in the default run: 1,000,000 URLs take 90-100 min here, bound by Azurite): a whole
/// job of <c>--big-job-urls</c> URLs (default 1,000,000) over the 50 loopback hosts (127.0.0.1-50) through the in-process
/// runner, with the operator's default settings, in a child process so that its peak RSS is the job's. It counts every
/// storage request the job's client sends (a pipeline policy, per try), and checks the summary against the results rows
/// (totals equal their sums): the rows the job committed, tallied as storage acknowledged them (<see cref="CommittedResults"/>),
/// and a sample of results blobs read back and compared with what was tallied.</summary>
internal static class BigJob
{
    public const string Command = "__bigjob";

    private const string ListBlob = "_uploads/big-job-urls.txt";

    private sealed record Outcome(int Urls, double IntakeSeconds, double WallSeconds, double CpuSeconds, long PeakRssBytes, long IntakeRequests,
        long RunRequests, Dictionary<string, long> RunRequestsByMethod, long SummaryTotal, long SummarySucceeded, long SummaryFailed, long SummaryBytes,
        long ResultRows, long ResultSucceeded, long ResultFailed, long ResultBytes, int Batches, int ResultBlobs, int SampleBlobs, int SampleEqual,
        double CheckSeconds);

    /// <summary>Results blobs read back after the job (evenly spread; all of them for a job of at most this many batches).</summary>
    private const int ReadBackSample = 200;

    public static async Task RunAsync(BenchOptions options, IReadOnlyList<Uri> origins, Report report, CancellationToken cancellationToken)
    {
        var urls = options.BigJobUrls;
        var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
        await using (azurite)
        {
            await Planning.UploadUrlListAsync(container, ListBlob, urls,
                i => new Uri(origins[i % origins.Count], string.Create(CultureInfo.InvariantCulture, $"page/big-{i}")).AbsoluteUri, cancellationToken);
            Measure.Progress($"part bigjob: {urls} URLs over {origins.Count} hosts uploaded; running the job");
            await using var child = ChildProcess.Start(Command, azurite.ConnectionString);
            var outcome = JsonSerializer.Deserialize<Outcome>(await child.ReadLineAsync(cancellationToken))
                ?? throw new InvalidOperationException("The big job's child answered nothing.");
            if (await child.WaitForExitAsync(cancellationToken) != 0)
            {
                throw new InvalidOperationException($"The big job failed: {outcome}");
            }

            var part = string.Create(CultureInfo.InvariantCulture, $"bigjob {urls:N0} URLs");
            var rate = urls / outcome.WallSeconds;
            report.Add(part, "wall time (plan, fan-out, fan-in, summary)", "s", [outcome.WallSeconds]);
            report.Add(part, "URLs per second", "URLs/s", [rate]);
            report.Add(part, "client CPU per URL", "µs", [outcome.CpuSeconds * 1e6 / urls]);
            var peak = report.Add(part, "job process peak RSS", "MB", [outcome.PeakRssBytes / 1e6]);
            report.Add(part, "intake before it (not in the wall time)", "s", [outcome.IntakeSeconds]);
            report.Add(part, "storage requests per 1,000 URLs, the run", "requests", [outcome.RunRequests * 1000.0 / urls]);
            foreach (var (method, count) in outcome.RunRequestsByMethod.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                report.Add(part, $"  {method}", "requests", [count * 1000.0 / urls]);
            }

            report.Add(part, "storage requests per 1,000 URLs, intake", "requests", [outcome.IntakeRequests * 1000.0 / urls]);
            report.Add(part, "batches", "count", [outcome.Batches]);
            report.Add(part, "check of the results (after the job)", "s", [outcome.CheckSeconds]);
            var consistent = outcome.SummaryTotal == urls && outcome.ResultRows == urls && outcome.ResultBlobs == outcome.Batches
                && outcome.SampleBlobs > 0 && outcome.SampleEqual == outcome.SampleBlobs
                && (outcome.SummaryTotal, outcome.SummarySucceeded, outcome.SummaryFailed, outcome.SummaryBytes)
                == (outcome.ResultRows, outcome.ResultSucceeded, outcome.ResultFailed, outcome.ResultBytes);
            report.AddTarget($"whole {urls:N0}-URL job, summary = sums of its results rows", "equal",
                string.Create(CultureInfo.InvariantCulture,
                    $"summary {outcome.SummaryTotal}/{outcome.SummarySucceeded} ok/{outcome.SummaryBytes} B, rows {outcome.ResultRows}/{outcome.ResultSucceeded} ok/{outcome.ResultBytes} B in {outcome.ResultBlobs} blobs, {outcome.SampleEqual}/{outcome.SampleBlobs} read back equal"),
                consistent, Report.Issue20);
            report.AddTarget($"whole {urls:N0}-URL job, peak RSS", "≤ 1000 MB", $"{peak.Median:0} MB", peak.Median <= 1000, Report.Issue20);
            if (urls < 1_000_000)
            {
                report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"bigjob ran {urls:N0} URLs, not 1,000,000: at {rate:0} URLs/s a 1,000,000-URL job would need {1_000_000 / rate / 60:0} min, but Azurite slows as it fills (it scans its blobs per request; the 1,000,000-URL run of 2026-12-06 took 90 min), and it holds 1,000,000 bodies ({1_000_000L * options.PageBytes / 1e9:0.0} GB)."));
            }
        }
    }

    /// <summary>The child: intake, the whole job, the check of its summary; one JSON line.</summary>
    public static async Task<int> RunChildAsync(string storage)
    {
        var counter = new RequestCounter();
        var committed = new CommittedResults();
        await using var core = CoreHost.Create(storage, concurrency: 16, maxBodyBytes: 1024 * 1024, before: services =>
            services.AddSingleton(provider =>
            {
                var clientOptions = new BlobClientOptions();
                StorageClientRegistration.ConfigureClientOptions(clientOptions, provider);
                clientOptions.AddPolicy(counter, HttpPipelinePosition.PerRetry);
                clientOptions.AddPolicy(committed, HttpPipelinePosition.PerCall);
                return new BlobServiceClient(storage, clientOptions);
            }));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var submitted = await core.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest { UrlListBlob = ListBlob }, CancellationToken.None);
        var intake = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var ticket = submitted.Ticket ?? throw new InvalidOperationException(
            $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");
        var intakeRequests = counter.Reset();

        Core.Summary.CrawlSummary? summary = null;
        var run = await Measure.RunAsync(async () =>
            summary = await core.Provider.GetRequiredService<ICrawlRunner>().RunAsync(ticket, progress: null, CancellationToken.None));
        var peak = Measure.PeakRssBytes() ?? 0;
        var byMethod = counter.ByMethod();
        var runRequests = counter.Reset();

        // The check: the rows committed (tallied as storage acknowledged them, no request), and a sample read back. Reading
        // all 20,000 results blobs of a 1,000,000-URL job back from Azurite took hours (0.3 s each: it scans its blobs).
        var checkStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var store = core.Provider.GetRequiredService<JobStore>();
        var rows = committed.Total;
        var sampled = Math.Min(summary!.Batches, ReadBackSample);
        var sample = Enumerable.Range(0, sampled).Select(i => (int)((long)i * summary.Batches / sampled)).ToArray();
        var equal = 0;
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (batch, token) =>
        {
            var name = BlobNames.BatchResults(ticket.JobId, batch);
            var lines = new List<string>();
            await foreach (var line in store.ReadLinesAsync(name, token))
            {
                lines.Add(line);
            }

            if (committed.For(store.Container.GetBlobClient(name).Uri) == RowTally.Of(lines))
            {
                Interlocked.Increment(ref equal);
            }
        });
        var check = System.Diagnostics.Stopwatch.GetElapsedTime(checkStarted);

        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Outcome(submitted.UrlCount, intake.TotalSeconds, run.Wall.TotalSeconds,
            run.Cpu.TotalSeconds, peak, intakeRequests, runRequests, byMethod, summary.Total, summary.Succeeded, summary.Failed, summary.Bytes,
            rows.Rows, rows.Succeeded, rows.Failed, rows.Bytes, summary.Batches, committed.Blobs, sample.Length, equal, check.TotalSeconds)));
        return 0;
    }

    /// <summary>Counts the requests a storage client sends, each try of each.</summary>
    private sealed class RequestCounter : HttpPipelineSynchronousPolicy
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _byMethod = new(StringComparer.Ordinal);
        private long _count;

        public override void OnSendingRequest(HttpMessage message)
        {
            Interlocked.Increment(ref _count);
            _byMethod.AddOrUpdate(message.Request.Method.Method, 1, (_, n) => n + 1);
        }

        public Dictionary<string, long> ByMethod() => new(_byMethod, StringComparer.Ordinal);

        public long Reset()
        {
            _byMethod.Clear();
            return Interlocked.Exchange(ref _count, 0);
        }
    }
}
