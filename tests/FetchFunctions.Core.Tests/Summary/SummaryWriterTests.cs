using System.Text;
using System.Text.Json;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Summary;

public sealed class SummaryWriterTests
{
    private const string JobId = "sum-1";

    /// <summary>Three batches of results of a job: every third URL failed.</summary>
    private static async Task<(SummaryWriter Sut, EngineHost Host, BatchStats Totals)> CreateSutAsync(int maxFailedUrls)
    {
        var host = await EngineHost.StartAsync(new Dictionary<string, string?> { ["Crawl:MaxFailedUrlsInSummary"] = $"{maxFailedUrls}" });
        var totals = BatchStats.Empty;
        for (var batch = 0; batch < 3; batch++)
        {
            var results = Enumerable.Range(0, 10).Select(i => i % 3 == 0
                ? UrlResult.Failure($"https://h{i}.example/{batch}/{i}", $"h{i}.example", FetchErrorKind.Connect, $"refused {batch}/{i}", true, TimeSpan.FromMilliseconds(i))
                : new UrlResult($"https://h{i}.example/{batch}/{i}", $"h{i}.example", null, 200, null, 100, "00", 1, 10 * i, "b", null, null)).ToList();
            var text = string.Join('\n', results.Select(r => JsonSerializer.Serialize(r, CrawlJsonContext.Default.UrlResult))) + "\n";
            await host.Container.UploadBlobAsync(BlobNames.BatchResults(JobId, batch), BinaryData.FromString(text));
            totals = BatchStats.Merge(totals, BatchStatsBuilder.From(results));
        }

        return (host.Provider.GetRequiredService<SummaryWriter>(), host, totals);
    }

    [Fact]
    public async Task WriteAsync_Results_StoresFullSummaryAndReturnsAbridgedCopy()
    {
        var (sut, host, totals) = await CreateSutAsync(maxFailedUrls: 1000);
        await using var _ = host;
        var start = new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero);

        var returned = await sut.WriteAsync(new SummaryWork(JobId, totals, start, start.AddSeconds(10), DuplicatesRemoved: 4), CancellationToken.None);

        var stored = JsonSerializer.Deserialize(Encoding.UTF8.GetString(await host.DownloadAsync(BlobNames.Summary(JobId))), CrawlJsonContext.Default.CrawlSummary)!;
        Assert.Equal((30L, 18L, 12L, 4), (stored.Total, stored.Succeeded, stored.Failed, stored.DuplicatesRemoved));
        Assert.Equal(TimeSpan.FromSeconds(10), stored.Elapsed);
        Assert.Equal(3.0, stored.UrlsPerSecond);
        Assert.Equal(0.6, stored.SuccessRate, 10);
        Assert.Equal(12, stored.FailedUrls.Count);
        Assert.Equal("https://h0.example/0/0", stored.FailedUrls[0].Url);
        Assert.Equal(("Connect", "refused 0/0"), (stored.FailedUrls[0].ErrorKind, stored.FailedUrls[0].Error));
        Assert.Equal(12, stored.ErrorKinds["Connect"]);
        Assert.Equal(18, stored.StatusCodes[200]);
        Assert.Equal(new Dictionary<string, long> { ["200"] = 18, ["Connect"] = 12 }, stored.Outcomes);
        Assert.Equal(10, stored.Hosts.Count);
        Assert.Equal(totals.Latency.Percentile(0.5), stored.Latency.P50Milliseconds);
        Assert.Equal(stored with { Hosts = returned.Hosts, FailedUrls = returned.FailedUrls, StatusCodes = returned.StatusCodes,
            ErrorKinds = returned.ErrorKinds, Outcomes = returned.Outcomes, Latency = returned.Latency, PagesByDepth = returned.PagesByDepth }, returned);
        Assert.Equal(12, returned.FailedUrls.Count);
    }

    [Fact]
    public async Task WriteAsync_MoreFailuresThanCap_ListsCapAndCountsTheRest()
    {
        var (sut, host, totals) = await CreateSutAsync(maxFailedUrls: 5);
        await using var _ = host;

        var returned = await sut.WriteAsync(new SummaryWork(JobId, totals, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, DuplicatesRemoved: 0), CancellationToken.None);

        Assert.Equal(5, returned.FailedUrls.Count);
        Assert.Equal(7, returned.FailedUrlsNotListed);
        Assert.Equal(0, returned.UrlsPerSecond);
    }

    [Fact]
    public async Task WriteAsync_NoFailures_ReadsNoResultsBlob()
    {
        await using var host = await EngineHost.StartAsync();
        var sut = host.Provider.GetRequiredService<SummaryWriter>();
        // Statistics of two batches whose results blobs do not exist: reading either would fail.
        var succeeded = new UrlResult("https://a.example/", "a.example", null, 200, null, 100, "00", 1, 10, "b", null, null);
        var totals = BatchStats.Merge(BatchStatsBuilder.From([succeeded]), BatchStatsBuilder.From([succeeded]));

        var returned = await sut.WriteAsync(new SummaryWork(JobId, totals, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, DuplicatesRemoved: 0), CancellationToken.None);

        Assert.Equal((2L, 0L), (returned.Succeeded, returned.Failed));
        Assert.Empty(returned.FailedUrls);
        Assert.True(await host.ExistsAsync(BlobNames.Summary(JobId)));
    }

    [Fact]
    public void Abridge_LongLists_KeepsCountsAndSumsHiddenHosts()
    {
        var hosts = Enumerable.Range(0, 30).Select(i => new HostStats($"h{i:D2}", 30 - i, 30 - i, 0, i)).ToList();
        var summary = new CrawlSummary
        {
            JobId = "j", SummaryBlobName = "s", Total = hosts.Sum(h => h.Urls), Failed = 50, Hosts = hosts,
            FailedUrls = [.. Enumerable.Range(0, 50).Select(i => new FailedUrl($"u{i}", null, "Dns", "x"))],
        };

        var abridged = SummaryWriter.Abridge(summary, 20);

        Assert.Equal(hosts.Take(20), abridged.Hosts);
        Assert.Equal(new HostStats(HostStats.OtherHostsName, hosts.Skip(20).Sum(h => h.Urls), hosts.Skip(20).Sum(h => h.Urls), 0, hosts.Skip(20).Sum(h => h.Bytes)),
            abridged.OtherHosts);
        Assert.Equal(20, abridged.FailedUrls.Count);
        Assert.Equal(30, abridged.FailedUrlsNotListed);
    }
}
