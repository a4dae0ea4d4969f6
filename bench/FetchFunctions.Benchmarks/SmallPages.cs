using System.Buffers;
using System.Text.Json;
using Azure.Storage.Blobs;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;

namespace FetchFunctions.Benchmarks;

/// <summary>Parts 1 and 2: many small pages through the engine, against a bare HttpClient (fetch only) and a bare
/// BlobContainerClient upload loop (fetch + store), at the same concurrency in the same run.</summary>
internal static class SmallPages
{
    private const string JobId = "bench";

    /// <summary>Set to 1, the bare upload loop of part 2 sends the engine's headers and metadata (a diagnostic).</summary>
    private const string BareMetadataVariable = "FETCHBENCH_BARE_METADATA";

    /// <summary>Chunks per side and run in parts 1 and 2.</summary>
    private const int Chunks = 10;

    /// <summary>The hidden subcommand of the child that runs one part's measured client.</summary>
    public const string Command = "__small";

    /// <summary>The runtime setting for spinning: read once when the runtime starts, so it is set on a child process.
    /// 0 makes an idle thread-pool worker block at once instead of spinning first.</summary>
    public const string SpinLimitVariable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>The two thread-pool settings each of parts 1 and 2 runs with: the runtime's default, and spinning off.</summary>
    private static readonly (string Label, IReadOnlyDictionary<string, string> Environment)[] SpinSettings =
    [
        ("default spinning", new Dictionary<string, string>()),
        ("spinning limited", new Dictionary<string, string> { [SpinLimitVariable] = "0" }),
    ];

    /// <summary>What a part 1 child reports: per run, the engine and the bare client.</summary>
    private sealed record FetchOutcome(RunSample[] Engine, RunSample[] Bare);

    /// <summary>What a part 2 child reports: per run, the engine into Azurite, the bare upload loop, and the engine
    /// fetching the same pages into a discarding sink in the same process (its fetch without the upload).</summary>
    private sealed record StoreOutcome(RunSample[] Engine, RunSample[] Bare, RunSample[] FetchOnly, RunSample[] Warc,
        double[] BlobWritesPer1000, double[] BareWritesPer1000, double[] WarcWritesPer1000);

    public static async Task FetchOnlyAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        const string part = "1 fetch-only";
        var results = new List<FetchOutcome>();
        foreach (var (label, environment) in SpinSettings)
        {
            Measure.Progress($"part 1, {label}: child process");
            results.Add(await RunChildAsync<FetchOutcome>("fetch", label, environment, options, server, cancellationToken));
        }

        var (spin, limited) = (results[0], results[1]);
        report.Add(part, "engine (default spinning)", "req/s", spin.Engine.Select(s => s.Rate));
        report.Add(part, "bare HttpClient (default spinning)", "req/s", spin.Bare.Select(s => s.Rate));
        var ratio = report.Add(part, "engine / bare req/s (default spinning)", "ratio", spin.Engine.Zip(spin.Bare, (e, b) => e.Rate / b.Rate));
        var limitedRatio = report.Add(part, "engine / bare req/s (spinning limited)", "ratio", limited.Engine.Zip(limited.Bare, (e, b) => e.Rate / b.Rate));
        report.Add(part, "engine CPU per request (default spinning)", "µs", spin.Engine.Select(s => s.CpuMicrosecondsPerItem));
        report.Add(part, "bare CPU per request (default spinning)", "µs", spin.Bare.Select(s => s.CpuMicrosecondsPerItem));
        report.Add(part, "engine CPU per request (spinning limited)", "µs", limited.Engine.Select(s => s.CpuMicrosecondsPerItem));
        report.Add(part, "bare CPU per request (spinning limited)", "µs", limited.Bare.Select(s => s.CpuMicrosecondsPerItem));
        report.Add(part, "engine: default - limited spinning, run by run (< 0: spinning saves wake-ups)", "µs",
            spin.Engine.Zip(limited.Engine, (d, l) => d.CpuMicrosecondsPerItem - l.CpuMicrosecondsPerItem));
        report.Add(part, "measured seconds per run, engine side (both settings)", "s", spin.Engine.Concat(limited.Engine).Select(s => s.WallSeconds));
        report.AddTarget("fetch-only engine / bare req/s (default spinning)", "≥ 0.80",
            $"{ratio.Median:0.00} (spinning limited {limitedRatio.Median:0.00})", ratio.Median >= 0.8, Report.Issue13);
    }

    public static async Task FetchAndStoreAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        const string part = "2 fetch+store";
        var results = new List<StoreOutcome>();
        foreach (var (label, environment) in SpinSettings)
        {
            Measure.Progress($"part 2, {label}: child process");
            results.Add(await RunChildAsync<StoreOutcome>("store", label, environment, options, server, cancellationToken));
        }

        var (spin, limited) = (results[0], results[1]);
        report.Add(part, "engine into Azurite (default spinning)", "req/s", spin.Engine.Select(s => s.Rate));
        report.Add(part, "bare SDK upload loop (default spinning)", "blobs/s", spin.Bare.Select(s => s.Rate));
        var storeRatio = report.Add(part, "engine / bare (default spinning)", "ratio", spin.Engine.Zip(spin.Bare, (e, b) => e.Rate / b.Rate));
        Figure? total = null;
        Figure? bare = null;
        foreach (var (label, outcome) in new[] { ("default spinning", spin), ("spinning limited", limited) })
        {
            var whole = report.Add(part, $"client CPU per stored small body ({label})", "µs", outcome.Engine.Select(s => s.CpuMicrosecondsPerItem));
            report.Add(part, "  of which the engine's fetch (same pages, discarding sink)", "µs", outcome.FetchOnly.Select(s => s.CpuMicrosecondsPerItem));
            report.Add(part, "  of which the storage client's upload (the rest)", "µs",
                outcome.Engine.Zip(outcome.FetchOnly, (e, f) => e.CpuMicrosecondsPerItem - f.CpuMicrosecondsPerItem));
            var sdk = report.Add(part, $"bare SDK upload loop CPU per blob ({label})", "µs", outcome.Bare.Select(s => s.CpuMicrosecondsPerItem));
            total ??= whole;
            bare ??= sdk;
        }

        var warc = report.Add(part, "WARC store: client CPU per stored small body (default spinning)", "µs", spin.Warc.Select(s => s.CpuMicrosecondsPerItem));
        report.Add(part, "WARC store: client CPU per stored small body (spinning limited)", "µs", limited.Warc.Select(s => s.CpuMicrosecondsPerItem));
        report.Add(part, "WARC store into Azurite (default spinning)", "req/s", spin.Warc.Select(s => s.Rate));
        var blobWrites = report.Add(part, "storage writes per 1,000 URLs: blobs store", "count", spin.BlobWritesPer1000);
        var bareWrites = report.Add(part, "storage writes per 1,000 URLs: bare per-blob loop", "count", spin.BareWritesPer1000);
        var warcWrites = report.Add(part, $"storage writes per 1,000 URLs: WARC store (a batch per {Chunk(options.StorePages)} pages)", "count", spin.WarcWritesPer1000);
        report.Notes.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"Write cost per 1,000,000 URLs at ${RequestCounter.DollarsPer10kWrites} per 10,000 writes: blobs store ${RequestCounter.Dollars(blobWrites.Median * 1000):0.00}, bare per-blob loop ${RequestCounter.Dollars(bareWrites.Median * 1000):0.00}, WARC store ${RequestCounter.Dollars(warcWrites.Median * 1000):0.000}."));
        report.AddTarget("client CPU per stored small body, WARC store (default spinning)", "≤ 150 µs",
            $"{warc.Median:0} µs (blobs store {total!.Median:0} µs)", warc.Median <= 150, Report.Issue18);
        var limitedTotal = Median(limited.Engine.Select(s => s.CpuMicrosecondsPerItem));
        var limitedBare = Median(limited.Bare.Select(s => s.CpuMicrosecondsPerItem));
        report.Add(part, "measured seconds per run, engine side (both settings)", "s", spin.Engine.Concat(limited.Engine).Select(s => s.WallSeconds));
        report.AddTarget("client CPU per stored small body (default spinning)", "≤ 200 µs",
            $"{total!.Median:0} µs, bare SDK loop {bare!.Median:0} µs (spinning limited: {limitedTotal:0} µs, bare {limitedBare:0} µs)",
            total.Median <= 200, Report.Issue13);
        report.AddTarget("fetch+store engine / bare upload loop req/s", "≥ 0.90", $"{storeRatio.Median:0.00}", storeRatio.Median >= 0.9);
    }

    private static double Median(IEnumerable<double> values) => new Figure("", "", "", values.ToArray()).Median;

    private static async Task<T> RunChildAsync<T>(string part, string label, IReadOnlyDictionary<string, string> environment, BenchOptions options,
        Uri server, CancellationToken cancellationToken)
    {
        await using var child = ChildProcess.StartWith(environment, Command, part, server.AbsoluteUri, JsonSerializer.Serialize(options));
        var line = await child.ReadLineAsync(cancellationToken);
        var outcome = JsonSerializer.Deserialize<T>(line) ?? throw new InvalidOperationException($"The part {part} child answered nothing.");
        if (await child.WaitForExitAsync(cancellationToken) != 0)
        {
            throw new InvalidOperationException($"The part {part} child ({label}) failed.");
        }

        return outcome;
    }

    /// <summary>The child: one part's measured client, with the thread-pool setting its parent gave it; one JSON line.</summary>
    public static async Task<int> RunChildAsync(string part, Uri server, string optionsJson)
    {
        var options = JsonSerializer.Deserialize<BenchOptions>(optionsJson) ?? throw new InvalidOperationException("No options.");
        var spinLimit = Environment.GetEnvironmentVariable(SpinLimitVariable) ?? "default";
        object outcome = part switch
        {
            "fetch" => await FetchOnlyChildAsync(options, server, spinLimit, CancellationToken.None),
            "store" => await FetchAndStoreChildAsync(options, server, spinLimit, CancellationToken.None),
            _ => throw new InvalidOperationException($"No part {part}."),
        };
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(outcome));
        return 0;
    }

    private static async Task<FetchOutcome> FetchOnlyChildAsync(BenchOptions options, Uri server, string spinLimit, CancellationToken cancellationToken)
    {
        await using var core = CoreHost.Create(storage: null, options.Concurrency, options.BigBytes);
        var policy = core.Policy;
        var warmups = Requests(server, policy, "warmup", 0, WarmupCount(options));
        using var bare = CreateBareClient(options.Concurrency);

        await Measure.WarmUpAsync(WarmupTime(options), () => EngineFetchAsync(core.Engine, warmups, options, cancellationToken));
        await Measure.WarmUpAsync(WarmupTime(options), () => BareFetchAsync(bare, warmups, options, cancellationToken));

        var engine = new List<RunSample>();
        var baseline = new List<RunSample>();
        for (var run = 0; run < options.Runs; run++)
        {
            var (engineSum, bareSum) = await Measure.InterleavedForAsync(Chunk(options.Pages), options.Pages, MinimumTime(options), run,
                (first, count) =>
                {
                    var requests = Requests(server, policy, "page", first, count);
                    return () => EngineFetchAsync(core.Engine, requests, options, cancellationToken);
                },
                (first, count) =>
                {
                    var requests = Requests(server, policy, "page", first, count);
                    return () => BareFetchAsync(bare, requests, options, cancellationToken);
                });
            engine.Add(engineSum);
            baseline.Add(bareSum);
            Measure.Progress($"part 1 run {run + 1} (spin limit {spinLimit}): {engineSum.Count} requests a side, engine {engineSum.Rate:0} req/s {engineSum.CpuMicrosecondsPerItem:0.0} µs CPU, bare {bareSum.Rate:0} req/s {bareSum.CpuMicrosecondsPerItem:0.0} µs CPU");
        }

        return new FetchOutcome([.. engine], [.. baseline]);
    }

    private static async Task<StoreOutcome> FetchAndStoreChildAsync(BenchOptions options, Uri server, string spinLimit, CancellationToken cancellationToken)
    {
        var page = TestContent.Bytes(seed: 1, options.PageBytes);
        var warmupCount = Math.Clamp(options.StorePages / 10, 100, 1_000);
        var (scratch, scratchContainer) = await Azurite.StartFreshAsync(cancellationToken);
        await using (scratch)
        {
            await using var core = CoreHost.Create(scratch.ConnectionString, options.Concurrency, options.BigBytes);

            // New names for every warm-up batch: Azurite slows down on overwrites.
            var batch = 0;
            FetchRequest[] NextWarmups() => Requests(server, core.Policy, $"warmup{batch++}", 0, warmupCount);
            await Measure.WarmUpAsync(WarmupTime(options), () => EngineFetchAsync(core.Engine, NextWarmups(), options, cancellationToken));
            await Measure.WarmUpAsync(WarmupTime(options), () => BareUploadAsync(scratchContainer, NextWarmups().Select(r => r.BlobName).ToArray(), page, options, cancellationToken));
        }

        // The engine's fetch alone, same settings, bodies discarded: what the fetch of a stored body costs.
        await using var discarding = CoreHost.Create(storage: null, options.Concurrency, options.BigBytes);
        var fetchWarmups = Requests(server, discarding.Policy, "warmup", 0, WarmupCount(options));
        await Measure.WarmUpAsync(WarmupTime(options), () => EngineFetchAsync(discarding.Engine, fetchWarmups, options, cancellationToken));

        // Each run gives each side a fresh Azurite of its own (both started up front), so each Azurite sees only its
        // side's blobs, and interleaves the sides in chunks.
        var engine = new List<RunSample>();
        var baseline = new List<RunSample>();
        var fetchOnly = new List<RunSample>();
        var warc = new List<RunSample>();
        var (blobWrites, bareWrites, warcWrites) = (new List<double>(), new List<double>(), new List<double>());
        for (var run = 0; run < options.Runs; run++)
        {
            var (engineAzurite, engineContainer) = await Azurite.StartFreshAsync(cancellationToken);
            await using (engineAzurite)
            {
                var (bareAzurite, bareContainer) = await Azurite.StartFreshAsync(cancellationToken);
                await using (bareAzurite)
                {
                    var engineCounter = new RequestCounter();
                    var bareCounter = new RequestCounter();
                    await using var core = CoreHost.Create(engineAzurite.ConnectionString, options.Concurrency, options.BigBytes, counter: engineCounter);
                    var bareOptions = new BlobClientOptions();
                    bareOptions.AddPolicy(bareCounter, Azure.Core.HttpPipelinePosition.PerRetry);
                    bareContainer = new BlobServiceClient(bareAzurite.ConnectionString, bareOptions).GetBlobContainerClient(CoreHost.ContainerName);
                    var policy = core.Policy;
                    await EngineFetchAsync(core.Engine, Requests(server, policy, "warmup", 0, warmupCount), options, cancellationToken);
                    await BareUploadAsync(bareContainer, Requests(server, policy, "warmup", 0, warmupCount).Select(r => r.BlobName).ToArray(), page, options, cancellationToken);
                    engineCounter.Reset();
                    bareCounter.Reset();

                    var (engineSum, bareSum) = await Measure.InterleavedForAsync(Chunk(options.StorePages), options.StorePages, MinimumTime(options), run,
                        (first, count) =>
                        {
                            var requests = Requests(server, policy, "page", first, count);
                            return () => EngineFetchAsync(core.Engine, requests, options, cancellationToken);
                        },
                        (first, count) =>
                        {
                            var names = Requests(server, policy, "page", first, count).Select(r => r.BlobName).ToArray();
                            return () => BareUploadAsync(bareContainer, names, page, options, cancellationToken);
                        });

                    blobWrites.Add(engineCounter.Writes * 1000.0 / engineSum.Count);
                    bareWrites.Add(bareCounter.Writes * 1000.0 / bareSum.Count);
                    await VerifyStoredAsync(engineContainer, Requests(server, policy, "page", 0, engineSum.Count), options.PageBytes, cancellationToken);
                    engine.Add(engineSum);
                    baseline.Add(bareSum);
                }
            }

            // The WARC store in a fresh Azurite of its own: the engine into a batch writer per chunk (the commit unit).
            var (warcAzurite, _) = await Azurite.StartFreshAsync(cancellationToken);
            await using (warcAzurite)
            {
                var counter = new RequestCounter();
                await using var warcCore = CoreHost.Create(warcAzurite.ConnectionString, options.Concurrency, options.BigBytes, counter: counter);
                var batchIndex = 0;
                await Measure.WarmUpAsync(WarmupTime(options), () => WarcFetchAsync(warcCore, NextWarcWarmups(), batchIndex++, options, cancellationToken));
                counter.Reset();
                var warcSum = await Measure.RunForAsync(Chunk(options.StorePages), MinimumTime(options), (first, count) =>
                {
                    var requests = Requests(server, warcCore.Policy, "page", first, count);
                    var index = batchIndex++;
                    return () => WarcFetchAsync(warcCore, requests, index, options, cancellationToken);
                });
                warc.Add(warcSum);
                warcWrites.Add(counter.Writes * 1000.0 / warcSum.Count);
                Measure.Progress($"part 2 run {run + 1} (spin limit {spinLimit}): WARC store {warcSum.Count} bodies, {warcSum.Rate:0} req/s {warcSum.CpuMicrosecondsPerItem:0} µs CPU, {warcWrites[^1]:0.0} writes per 1,000");

                FetchRequest[] NextWarcWarmups() => Requests(server, warcCore.Policy, $"warmup{batchIndex}", 0, Chunk(options.StorePages));
            }

            // A third of the minimum is enough here: the fetch alone runs about a hundred times faster than with the upload.
            var fetchSum = await Measure.RunForAsync(Chunk(options.Pages), MinimumTime(options) / 3, (first, count) =>
            {
                var requests = Requests(server, discarding.Policy, "page", first, count);
                return () => EngineFetchAsync(discarding.Engine, requests, options, cancellationToken);
            });
            fetchOnly.Add(fetchSum);
            Measure.Progress($"part 2 run {run + 1} (spin limit {spinLimit}): {engine[^1].Count} bodies a side, engine {engine[^1].Rate:0} req/s {engine[^1].CpuMicrosecondsPerItem:0} µs CPU (fetch alone {fetchSum.CpuMicrosecondsPerItem:0.0} µs), bare upload {baseline[^1].Rate:0} blobs/s {baseline[^1].CpuMicrosecondsPerItem:0} µs CPU");
        }

        return new StoreOutcome([.. engine], [.. baseline], [.. fetchOnly], [.. warc], [.. blobWrites], [.. bareWrites], [.. warcWrites]);
    }

    /// <summary>Items per interleaved chunk: a tenth of the run's minimum count.</summary>
    private static int Chunk(int count) => Math.Max(1, count / Chunks);

    private static TimeSpan MinimumTime(BenchOptions options) => TimeSpan.FromSeconds(options.Seconds);

    private static int WarmupCount(BenchOptions options) => Math.Clamp(options.Pages / 10, 100, 1_000);

    private static TimeSpan WarmupTime(BenchOptions options) => TimeSpan.FromSeconds(options.Quick ? 1 : 3);


    private static FetchRequest[] Requests(Uri server, FetchPolicy policy, string prefix, int first, int count) =>
        Enumerable.Range(first, count).Select(i => new Uri(server, $"page/{prefix}-{i}"))
            .Select(url => new FetchRequest(url, BlobNames.Body(JobId, url), policy)).ToArray();

    internal static HttpClient CreateBareClient(int concurrency) =>
        // The baseline is deliberately the bare client: one handler, no factory, no pipeline.
        new(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseCookies = false, UseProxy = false, AllowAutoRedirect = false });

    private static Task EngineFetchAsync(IFetchEngine engine, FetchRequest[] requests, BenchOptions options, CancellationToken cancellationToken) =>
        Measure.ForEachAsync(requests.Length, options.Concurrency, async (i, ct) =>
        {
            var result = await engine.FetchAsync(requests[i], ct);
            if (!result.Succeeded || result.Bytes != options.PageBytes)
            {
                throw new InvalidOperationException($"Engine fetch of {requests[i].Url} failed: {result.ErrorKind} {result.Error} ({result.Bytes} bytes)");
            }
        }, cancellationToken);

    /// <summary>One batch into the WARC store: the engine fetches into the batch's writer, which then commits.</summary>
    private static async Task WarcFetchAsync(CoreHost core, FetchRequest[] requests, int batchIndex, BenchOptions options, CancellationToken cancellationToken)
    {
        await using var writer = core.OpenWarc(JobId, batchIndex);
        await Measure.ForEachAsync(requests.Length, options.Concurrency, async (i, ct) =>
        {
            var result = await core.Engine.FetchAsync(requests[i] with { Sink = writer }, ct);
            if (!result.Succeeded || result.Bytes != options.PageBytes || result.WarcFile is null)
            {
                throw new InvalidOperationException($"WARC fetch of {requests[i].Url} failed: {result.ErrorKind} {result.Error} ({result.Bytes} bytes)");
            }
        }, cancellationToken);
        await writer.CommitAsync(cancellationToken);
    }

    private static Task BareFetchAsync(HttpClient client, FetchRequest[] requests, BenchOptions options, CancellationToken cancellationToken) =>
        Measure.ForEachAsync(requests.Length, options.Concurrency, async (i, ct) =>
        {
            using var response = await client.GetAsync(requests[i].Url, HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            var total = 0;
            try
            {
                for (int read; (read = await body.ReadAsync(buffer, ct)) > 0;)
                {
                    total += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (total != options.PageBytes)
            {
                throw new InvalidOperationException($"Bare fetch of {requests[i].Url} read {total} bytes.");
            }
        }, cancellationToken);

    private static Task BareUploadAsync(BlobContainerClient container, string[] names, byte[] page, BenchOptions options, CancellationToken cancellationToken)
    {
        var content = BinaryData.FromBytes(page);
        if (Environment.GetEnvironmentVariable(BareMetadataVariable) == "1")
        {
            // Diagnostic: the bare loop sends what the engine's blob sink sends (content type and six metadata entries).
            return Measure.ForEachAsync(names.Length, options.Concurrency, async (i, ct) =>
                await container.GetBlobClient(names[i]).UploadAsync(content, new Azure.Storage.Blobs.Models.BlobUploadOptions
                {
                    HttpHeaders = new Azure.Storage.Blobs.Models.BlobHttpHeaders { ContentType = "text/html" },
                    Metadata = new Dictionary<string, string>
                    {
                        ["sourceurl"] = $"http://127.0.0.1:40000/page/page-{i}",
                        ["finalurl"] = $"http://127.0.0.1:40000/page/page-{i}",
                        ["status"] = "200",
                        ["fetchedat"] = DateTimeOffset.UnixEpoch.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                        ["sha256"] = new string('0', 64),
                        ["bytes"] = "2048",
                    },
                }, ct), cancellationToken);
        }

        return Measure.ForEachAsync(names.Length, options.Concurrency, async (i, ct) =>
            await container.GetBlobClient(names[i]).UploadAsync(content, overwrite: true, ct), cancellationToken);
    }

    private static async Task VerifyStoredAsync(BlobContainerClient container, FetchRequest[] requests, int pageBytes, CancellationToken cancellationToken)
    {
        // Spot checks: the figures only count if the bodies really landed.
        foreach (var request in new[] { requests[0], requests[^1] })
        {
            var properties = (await container.GetBlobClient(request.BlobName).GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            if (properties.ContentLength != pageBytes)
            {
                throw new InvalidOperationException($"Blob {request.BlobName} has {properties.ContentLength} bytes, not {pageBytes}.");
            }
        }
    }
}
