using System.Text;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Orchestration;

/// <summary>Whole jobs through the intake, the in-process runner, the real engine, Azurite and the loopback server.</summary>
public sealed class CrawlJobEndToEndTests
{
    private const int MaxBodyRetries = 2;
    private const long MaxBodyBytes = 1_000_000;

    private sealed class RecordingProgress : IProgress<CrawlProgress>
    {
        private readonly Lock _lock = new();
        private readonly List<CrawlProgress> _reports = [];

        public IReadOnlyList<CrawlProgress> Reports
        {
            get
            {
                lock (_lock)
                {
                    return [.. _reports];
                }
            }
        }

        public void Report(CrawlProgress value)
        {
            lock (_lock)
            {
                _reports.Add(value);
            }
        }
    }

    private static Task<EngineHost> CreateSutAsync() => EngineHost.StartAsync(new Dictionary<string, string?>
    {
        // Three shards of up to 16 batches: the sub-orchestration path runs too (the one host's lane of 42 batches is run
        // whole by shard 0, the next two have none left).
        ["Crawl:BatchesPerShard"] = "16",
        ["Crawl:MaxUrls"] = "10000",
        ["Crawl:MaxInlineUrls"] = "10000",
        ["Fetch:MaxBodyRetries"] = MaxBodyRetries.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    /// <summary>2,100 URLs: two thirds plain 200s of various sizes, and 404s, 500-then-200s, resets in mid-body and
    /// bodies over the job's byte cap; plus 25 duplicates (fragments, case) that intake removes.</summary>
    private static (List<string> Urls, Dictionary<string, int> Kinds) JobUrls(LoopbackServer server, string run)
    {
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        var urls = new List<string>();
        for (var i = 0; i < 2100; i++)
        {
            var (kind, size) = (i % 21) switch
            {
                < 14 => ("ok", 100 + i * 37 % 5000),
                14 or 15 => ("missing", 0),
                16 or 17 => ("flaky", 300),
                // Half the body (well over the server's 64 KiB response buffer, so the headers surely arrived), then a reset.
                18 => ("reset", 400_000),
                _ => ("large", 2_000_000),
            };
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            urls.Add(server.Url($"/crawl/{run}/{kind}/{i}/{size}").AbsoluteUri);
        }

        urls.AddRange(urls.Take(25).Select((u, i) => i % 2 == 0 ? u + "#again" : u.Replace("http://", "HTTP://", StringComparison.Ordinal)));
        return (urls, kinds);
    }

    private static async Task<List<string>> BlobNamesAsync(EngineHost host, string prefix)
    {
        var names = new List<string>();
        await foreach (var blob in host.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    [Fact]
    public async Task RunAsync_MixedJobOf2100Urls_EveryUrlOneResultAndSummaryMatchesServer()
    {
        var server = await LoopbackServer.Shared;
        await using var host = await CreateSutAsync();
        var run = $"e2e{Guid.NewGuid():N}"[..16];
        var (urls, kinds) = JobUrls(server, run);
        var intake = host.Provider.GetRequiredService<ICrawlIntake>();
        var runner = host.Provider.GetRequiredService<ICrawlRunner>();
        var request = new CrawlJobRequest { JobId = run, Urls = urls, Options = new CrawlJobOptions { MaxBodyBytes = MaxBodyBytes } };

        var submitted = await intake.SubmitAsync(request, CancellationToken.None);
        var progress = new RecordingProgress();
        var summary = await runner.RunAsync(submitted.Ticket!, progress, CancellationToken.None);

        // Every URL of the job has exactly one result line.
        var lines = await host.ResultsAsync(run);
        Assert.Equal(2100, submitted.UrlCount);
        Assert.Equal(25, submitted.DuplicatesRemoved);
        Assert.Equal(2100, lines.Count);
        Assert.Equal(urls.Take(2100).Order(StringComparer.Ordinal), lines.Select(l => l.Url).Order(StringComparer.Ordinal));

        // The summary's figures are the server's own counts.
        long Count(string name) => server.Counter($"{run}:{name}");
        var served200 = Count("ok:200") + Count("flaky:200");
        Assert.Equal(kinds["ok"], Count("ok:200"));
        Assert.Equal(kinds["flaky"], Count("flaky:200"));
        Assert.Equal(2 * kinds["flaky"], Count("flaky:requests"));
        Assert.Equal((1 + MaxBodyRetries) * kinds["reset"], Count("reset:requests"));
        Assert.Equal(2100, summary.Total);
        Assert.Equal(served200, summary.Succeeded);
        Assert.Equal(2100 - served200, summary.Failed);
        Assert.Equal(Count("ok:bytes") + Count("flaky:bytes"), summary.StoredBytes);
        Assert.Equal(served200, summary.BodiesStored);
        Assert.Equal(Count("ok:requests") + Count("flaky:requests") + Count("missing:requests") + Count("reset:requests") + Count("large:requests"),
            summary.Attempts);
        Assert.Equal(Count("missing:requests"), summary.StatusCodes[404]);
        Assert.Equal(Count("missing:requests"), summary.ErrorKinds[nameof(FetchErrorKind.HttpStatus)]);
        Assert.Equal(Count("reset:requests") / (1 + MaxBodyRetries), summary.ErrorKinds[nameof(FetchErrorKind.BodyInterrupted)]);
        Assert.Equal(Count("large:requests"), summary.ErrorKinds[nameof(FetchErrorKind.TooLarge)]);
        Assert.Equal(3, summary.ErrorKinds.Count);
        Assert.Equal(25, summary.DuplicatesRemoved);
        Assert.Equal(42, summary.Batches);
        Assert.Equal([new HostStats("127.0.0.1", 2100, served200, 2100 - served200, summary.Bytes)], summary.Hosts);
        var latency = summary.Latency;
        Assert.True(latency.P50Milliseconds > 0 && latency.P50Milliseconds <= latency.P95Milliseconds
            && latency.P95Milliseconds <= latency.P99Milliseconds && latency.P99Milliseconds <= latency.MaxMilliseconds, latency.ToString());
        Assert.Equal((double)served200 / 2100, summary.SuccessRate);

        // Bodies stored (the default WARC store): exactly the 200s whole, the capped bodies as truncated records, nothing
        // from resets; no body blobs. The job's index has a line per response record, byte-sorted.
        Assert.Equal(served200, lines.Count(l => l.WarcFile is not null && l.Sha256 is not null));
        Assert.Equal(Count("large:requests"), lines.Count(l => l.WarcFile is not null && l.ErrorKind == FetchErrorKind.TooLarge));
        Assert.Empty(await BlobNamesAsync(host, $"{run}/bodies/"));
        var index = Encoding.UTF8.GetString(await host.DownloadAsync(BlobNames.Index(run))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(served200 + Count("large:requests"), index.Length);
        Assert.Equal(index.Order(StringComparer.Ordinal), index);
        Assert.Equal(42, (await BlobNamesAsync(host, BlobNames.IndexPartPrefix(run))).Count);
        // The job runs as shards, each merging its batches' parts as it completes; the fan-in merged those.
        Assert.NotEmpty(await BlobNamesAsync(host, BlobNames.ShardIndexPrefix(run)));

        // summary.json holds the full summary; the returned one is abridged.
        var stored = (await intake.GetSummaryAsync(run, CancellationToken.None))!;
        Assert.Equal((summary.Total, summary.Succeeded, summary.Attempts), (stored.Total, stored.Succeeded, stored.Attempts));
        Assert.Equal(summary.Failed, stored.FailedUrls.Count);
        Assert.Equal(0, stored.FailedUrlsNotListed);
        Assert.Equal(SummaryWriter.MaxListedInOutput, summary.FailedUrls.Count);
        Assert.Equal(summary.Failed - SummaryWriter.MaxListedInOutput, summary.FailedUrlsNotListed);
        Assert.All(stored.FailedUrls, f => Assert.False(string.IsNullOrEmpty(f.Error)));

        // Progress after every batch, ending at the totals.
        Assert.Equal(1 + 42, progress.Reports.Count);
        Assert.Equal(new CrawlProgress(42, 42, 2100, 2100, summary.Bytes), progress.Reports[^1]);
    }

    [Theory]
    [InlineData(StoreKinds.Warc)]
    [InlineData(StoreKinds.Blobs)]
    public async Task RunAsync_SameJobIdAgain_OverwritesInsteadOfDuplicating(string store)
    {
        var server = await LoopbackServer.Shared;
        await using var host = await CreateSutAsync();
        var run = $"rerun{Guid.NewGuid():N}"[..16];
        var (urls, _) = JobUrls(server, run);
        var intake = host.Provider.GetRequiredService<ICrawlIntake>();
        var runner = host.Provider.GetRequiredService<ICrawlRunner>();
        var request = new CrawlJobRequest { JobId = run, Urls = urls[..600], Options = new CrawlJobOptions { MaxBodyBytes = MaxBodyBytes, Store = store } };

        var first = await runner.RunAsync((await intake.SubmitAsync(request, CancellationToken.None)).Ticket!, null, CancellationToken.None);
        var blobsAfterFirst = (await BlobNamesAsync(host, $"{run}/")).Order(StringComparer.Ordinal).ToList();
        long Requests() => new[] { "ok", "missing", "flaky", "reset", "large" }.Sum(kind => server.Counter($"{run}:{kind}:requests"));
        var requestsAfterFirst = Requests();
        var second = await runner.RunAsync((await intake.SubmitAsync(request, CancellationToken.None)).Ticket!, null, CancellationToken.None);
        var blobsAfterSecond = (await BlobNamesAsync(host, $"{run}/")).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(blobsAfterFirst, blobsAfterSecond);
        // job.json, urls.txt, one shard manifest, a results blob per batch, summary.json, the one origin's host blob, and the
        // bodies: a blob each, or a WARC file and an index part per batch and the job's index.
        var results = await host.ResultsAsync(run);
        var bodyBlobs = store == StoreKinds.Blobs ? first.BodiesStored : results.Select(r => r.WarcFile).OfType<string>().Distinct().Count() + first.Batches + 1;
        Assert.Equal(3 + first.Batches + 1 + 1 + bodyBlobs, blobsAfterSecond.Count);
        Assert.Equal(store == StoreKinds.Blobs ? first.BodiesStored : 0, (await BlobNamesAsync(host, $"{run}/bodies/")).Count);
        Assert.Equal(600, (await host.ResultsAsync(run)).Count);
        Assert.Equal(first.Total, second.Total);
        // The same job again is the same plan: every batch's stored results are read back, nothing is fetched again.
        Assert.Equal(requestsAfterFirst, Requests());
        Assert.Equal(first.Attempts, second.Attempts);
    }
}
