using System.Buffers;
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

    public static async Task FetchOnlyAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        await using var core = CoreHost.Create(storage: null, options.Concurrency, options.BigBytes);
        var requests = Requests(options, server, core.Policy, "page");
        var warmups = Requests(options, server, core.Policy, "warmup")[..WarmupCount(options)];
        using var bare = CreateBareClient(options.Concurrency);

        Measure.Progress("part 1: warming up");
        await Measure.WarmUpAsync(WarmupTime(options), () => EngineFetchAsync(core.Engine, warmups, options, cancellationToken));
        await Measure.WarmUpAsync(WarmupTime(options), () => BareFetchAsync(bare, warmups, options, cancellationToken));

        var engine = new List<Sample>();
        var baseline = new List<Sample>();
        for (var run = 0; run < options.Runs; run++)
        {
            var (engineSum, bareSum) = await Measure.InterleavedAsync(requests.Length, Chunks, run,
                slice => EngineFetchAsync(core.Engine, requests[slice], options, cancellationToken),
                slice => BareFetchAsync(bare, requests[slice], options, cancellationToken));
            engine.Add(engineSum);
            baseline.Add(bareSum);
            Measure.Progress($"part 1 run {run + 1}: engine {engine[^1].Rate(options.Pages):0} req/s, bare {baseline[^1].Rate(options.Pages):0} req/s");
        }

        const string part = "1 fetch-only";
        report.Add(part, "engine", "req/s", engine.Select(s => s.Rate(options.Pages)));
        report.Add(part, "bare HttpClient", "req/s", baseline.Select(s => s.Rate(options.Pages)));
        var ratio = report.Add(part, "engine / bare", "ratio", engine.Zip(baseline, (e, b) => e.Rate(options.Pages) / b.Rate(options.Pages)));
        report.Add(part, "engine CPU per request", "µs", engine.Select(s => s.CpuMicrosecondsPer(options.Pages)));
        report.Add(part, "bare CPU per request", "µs", baseline.Select(s => s.CpuMicrosecondsPer(options.Pages)));
        report.AddTarget("fetch-only engine / bare", "≥ 0.60", $"{ratio.Median:0.00}", ratio.Median >= 0.6);
    }

    public static async Task FetchAndStoreAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        var page = TestContent.Bytes(seed: 1, options.PageBytes);
        Measure.Progress("part 2: warming up in a throwaway Azurite");
        var (scratch, scratchContainer) = await Azurite.StartFreshAsync(cancellationToken);
        await using (scratch)
        {
            await using var core = CoreHost.Create(scratch.ConnectionString, options.Concurrency, options.BigBytes);

            // New names for every warm-up batch: Azurite slows down on overwrites.
            var batch = 0;
            FetchRequest[] NextWarmups() => Requests(options, server, core.Policy, $"warmup{batch++}")[..WarmupCount(options)];
            await Measure.WarmUpAsync(WarmupTime(options), () => EngineFetchAsync(core.Engine, NextWarmups(), options, cancellationToken));
            await Measure.WarmUpAsync(WarmupTime(options), () => BareUploadAsync(scratchContainer, NextWarmups().Select(r => r.BlobName).ToArray(), page, options, cancellationToken));
        }

        // Each run gives each side a fresh Azurite of its own (both started up front), so each Azurite sees only its
        // side's blobs, and interleaves the sides in chunks.
        var engine = new List<Sample>();
        var baseline = new List<Sample>();
        var names = Urls(options, server, "page").Select(url => BlobNames.Body(JobId, url)).ToArray();
        var warmupNames = Urls(options, server, "warmup")[..WarmupCount(options)].Select(url => BlobNames.Body(JobId, url)).ToArray();
        for (var run = 0; run < options.Runs; run++)
        {
            var (engineAzurite, engineContainer) = await Azurite.StartFreshAsync(cancellationToken);
            await using (engineAzurite)
            {
                var (bareAzurite, bareContainer) = await Azurite.StartFreshAsync(cancellationToken);
                await using (bareAzurite)
                {
                    await using var core = CoreHost.Create(engineAzurite.ConnectionString, options.Concurrency, options.BigBytes);
                    var requests = Requests(options, server, core.Policy, "page");
                    await EngineFetchAsync(core.Engine, Requests(options, server, core.Policy, "warmup")[..WarmupCount(options)], options, cancellationToken);
                    await BareUploadAsync(bareContainer, warmupNames, page, options, cancellationToken);

                    var (engineSum, bareSum) = await Measure.InterleavedAsync(requests.Length, Chunks, run,
                        slice => EngineFetchAsync(core.Engine, requests[slice], options, cancellationToken),
                        slice => BareUploadAsync(bareContainer, names[slice], page, options, cancellationToken));

                    await VerifyStoredAsync(engineContainer, requests, options.PageBytes, cancellationToken);
                    engine.Add(engineSum);
                    baseline.Add(bareSum);
                }
            }

            Measure.Progress($"part 2 run {run + 1}: engine {engine[^1].Rate(options.Pages):0} req/s, bare upload {baseline[^1].Rate(options.Pages):0} blobs/s");
        }

        const string part = "2 fetch+store";
        report.Add(part, "engine into Azurite", "req/s", engine.Select(s => s.Rate(options.Pages)));
        report.Add(part, "bare upload", "blobs/s", baseline.Select(s => s.Rate(options.Pages)));
        var ratio = report.Add(part, "engine / bare", "ratio", engine.Zip(baseline, (e, b) => e.Rate(options.Pages) / b.Rate(options.Pages)));
        report.Add(part, "engine CPU per request", "µs", engine.Select(s => s.CpuMicrosecondsPer(options.Pages)));
        report.Add(part, "bare CPU per upload", "µs", baseline.Select(s => s.CpuMicrosecondsPer(options.Pages)));
        report.AddTarget("fetch+store engine / bare upload", "≥ 0.90", $"{ratio.Median:0.00}", ratio.Median >= 0.9);
    }

    private static int WarmupCount(BenchOptions options) => Math.Clamp(options.Pages / 10, 100, 1_000);

    private static TimeSpan WarmupTime(BenchOptions options) => TimeSpan.FromSeconds(options.Quick ? 1 : 3);

    private static Uri[] Urls(BenchOptions options, Uri server, string prefix) =>
        Enumerable.Range(0, options.Pages).Select(i => new Uri(server, $"page/{prefix}-{i}")).ToArray();

    private static FetchRequest[] Requests(BenchOptions options, Uri server, FetchPolicy policy, string prefix) =>
        Urls(options, server, prefix).Select(url => new FetchRequest(url, BlobNames.Body(JobId, url), policy)).ToArray();

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
