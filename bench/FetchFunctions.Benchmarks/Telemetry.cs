using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Part 7: what Core's instrumentation costs. Fetch-only (as part 1) and a small whole job (as part 4), each
/// with no listener (the instrumentation's checks only) and with a listener that records every span (sampling all) and
/// every measurement, interleaved in the same run.</summary>
internal static class TelemetryCost
{
    private const string JobId = "bench";
    private const int Chunks = 10;

    public static async Task RunAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        await FetchOnlyAsync(options, server, report, cancellationToken);
        await WholeJobAsync(options, server, report, cancellationToken);
    }

    private static async Task FetchOnlyAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        await using var core = CoreHost.Create(storage: null, options.Concurrency, options.BigBytes);
        var requests = Urls(options.Pages, server, "tpage").Select(url => new FetchRequest(url, BlobNames.Body(JobId, url), core.Policy)).ToArray();
        var warmups = requests[..Math.Min(requests.Length, 500)];
        Measure.Progress("part 7: warming up");
        await Measure.WarmUpAsync(TimeSpan.FromSeconds(options.Quick ? 1 : 3), () => FetchAsync(core.Engine, warmups, options, cancellationToken));
        using (new Listener())
        {
            await FetchAsync(core.Engine, warmups, options, cancellationToken);
        }

        var quiet = new List<Sample>();
        var listened = new List<Sample>();
        long spans = 0;
        for (var run = 0; run < options.Runs; run++)
        {
            var (quietSum, listenedSum) = await Measure.InterleavedAsync(requests.Length, Chunks, run,
                slice => FetchAsync(core.Engine, requests[slice], options, cancellationToken),
                async slice =>
                {
                    using var listener = new Listener();
                    await FetchAsync(core.Engine, requests[slice], options, cancellationToken);
                    Interlocked.Add(ref spans, listener.Spans);
                });
            quiet.Add(quietSum);
            listened.Add(listenedSum);
            Measure.Progress($"part 7 fetch-only run {run + 1}: no listener {quiet[^1].Rate(options.Pages):0} req/s, listener {listened[^1].Rate(options.Pages):0} req/s");
        }

        Expect(spans == (long)options.Pages * options.Runs, $"the listener saw {spans} fetch spans of {options.Pages * options.Runs}");
        const string part = "7 telemetry fetch-only";
        report.Add(part, "no listener", "req/s", quiet.Select(s => s.Rate(options.Pages)));
        report.Add(part, "listener (all spans, all metrics)", "req/s", listened.Select(s => s.Rate(options.Pages)));
        report.Add(part, "listener cost in throughput", "%", quiet.Zip(listened, (q, l) => (1 - l.Rate(options.Pages) / q.Rate(options.Pages)) * 100));
        report.Add(part, "CPU per request, no listener", "µs", quiet.Select(s => s.CpuMicrosecondsPer(options.Pages)));
        report.Add(part, "CPU per request, listener", "µs", listened.Select(s => s.CpuMicrosecondsPer(options.Pages)));
        report.Add(part, "listener CPU per request", "µs", quiet.Zip(listened, (q, l) => l.CpuMicrosecondsPer(options.Pages) - q.CpuMicrosecondsPer(options.Pages)));
    }

    private static async Task WholeJobAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        var urls = Math.Max(200, options.JobUrls / 2);
        var quiet = new List<Sample>();
        var listened = new List<Sample>();
        for (var run = 0; run < options.Runs; run++)
        {
            // One fresh Azurite per run for both jobs, the order alternating: the second job sees the first one's blobs.
            var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
            await using (azurite)
            {
                await using var core = CoreHost.Create(azurite.ConnectionString, options.Concurrency, options.BigBytes);
                await RunJobAsync(core, container, server, 100, $"twarm{run}", listen: false, cancellationToken);
                Sample quietRun = default, listenedRun = default;
                foreach (var listen in Measure.BaselineFirst(run) ? new[] { true, false } : [false, true])
                {
                    var sample = await RunJobAsync(core, container, server, urls, $"t{run}{(listen ? "l" : "q")}", listen, cancellationToken);
                    (quietRun, listenedRun) = listen ? (quietRun, sample) : (sample, listenedRun);
                }

                quiet.Add(quietRun);
                listened.Add(listenedRun);
            }

            Measure.Progress($"part 7 job run {run + 1}: {urls} URLs, no listener {quiet[^1].Rate(urls):0} URLs/s, listener {listened[^1].Rate(urls):0} URLs/s");
        }

        var part = string.Create(CultureInfo.InvariantCulture, $"7 telemetry whole job ({urls} URLs)");
        report.Add(part, "no listener", "URLs/s", quiet.Select(s => s.Rate(urls)));
        report.Add(part, "listener (all spans, all metrics)", "URLs/s", listened.Select(s => s.Rate(urls)));
        report.Add(part, "listener cost in throughput", "%", quiet.Zip(listened, (q, l) => (1 - l.Rate(urls) / q.Rate(urls)) * 100));
        report.Add(part, "listener CPU per URL", "µs", quiet.Zip(listened, (q, l) => l.CpuMicrosecondsPer(urls) - q.CpuMicrosecondsPer(urls)));
    }

    private static async Task<Sample> RunJobAsync(CoreHost core, Azure.Storage.Blobs.BlobContainerClient container, Uri server, int urls, string label,
        bool listen, CancellationToken cancellationToken)
    {
        var list = new StringBuilder();
        foreach (var url in Urls(urls, server, label))
        {
            list.Append(url.AbsoluteUri).Append('\n');
        }

        var blob = $"_uploads/{label}.txt";
        await container.UploadBlobAsync(blob, BinaryData.FromString(list.ToString()), cancellationToken);
        var submitted = await core.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest { JobId = label, UrlListBlob = blob }, cancellationToken);
        var ticket = submitted.Ticket ?? throw new InvalidOperationException($"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => p.Reason))}");
        var runner = core.Provider.GetRequiredService<ICrawlRunner>();
        using var listener = listen ? new Listener() : null;
        var sample = await Measure.RunAsync(async () =>
        {
            var summary = await runner.RunAsync(ticket, progress: null, cancellationToken);
            Expect(summary.Succeeded == urls, $"the job fetched {summary.Succeeded} of {urls} URLs");
        });
        if (listener is not null)
        {
            Expect(listener.Spans == urls && listener.Measurements >= urls, $"the listener saw {listener.Spans} fetch spans and {listener.Measurements} measurements for {urls} URLs");
        }

        return sample;
    }

    private static Task FetchAsync(IFetchEngine engine, FetchRequest[] requests, BenchOptions options, CancellationToken cancellationToken) =>
        Measure.ForEachAsync(requests.Length, options.Concurrency, async (i, token) =>
        {
            var result = await engine.FetchAsync(requests[i], token);
            Expect(result.Succeeded, $"{requests[i].Url}: {result.ErrorKind} {result.Error}");
        }, cancellationToken);

    private static Uri[] Urls(int count, Uri server, string prefix) =>
        Enumerable.Range(0, count).Select(i => new Uri(server, string.Create(CultureInfo.InvariantCulture, $"page/{prefix}-{i}"))).ToArray();

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Part 7: {what}.");
        }
    }

    /// <summary>What an exporter's SDK does at least: samples every span of Core's source with all its data, and takes
    /// every measurement of Core's meter. It counts them, so a run proves it listened.</summary>
    private sealed class Listener : IDisposable
    {
        private readonly ActivityListener _activities;
        private readonly MeterListener _meters;
        private long _spans;
        private long _measurements;

        public Listener()
        {
            _activities = new ActivityListener
            {
                ShouldListenTo = source => source.Name == FetchFunctionsTelemetry.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.OperationName == CrawlTelemetry.FetchSpan)
                    {
                        Interlocked.Increment(ref _spans);
                    }
                },
            };
            ActivitySource.AddActivityListener(_activities);
            _meters = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == FetchFunctionsTelemetry.MeterName)
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meters.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _measurements));
            _meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
            _meters.Start();
        }

        public long Spans => Interlocked.Read(ref _spans);

        public long Measurements => Interlocked.Read(ref _measurements);

        public void Dispose()
        {
            _activities.Dispose();
            _meters.Dispose();
        }
    }
}
