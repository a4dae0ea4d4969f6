using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>Link discovery wired end to end: a job with a crawl section run by the in-process runner (the same
/// orchestration logic as the Durable one) against a generated loopback site, through the real engine, lanes, WARC store
/// and frontier on Azurite.</summary>
public sealed class DiscoveryCrawlTests
{
    private static async Task<(EngineHost Host, SiteGraph Site)> CreateSutAsync()
    {
        var site = await SiteGraph.StartAsync();
        DiscoveryEndToEndTests.Build(site);
        return (await EngineHost.StartAsync(), site);
    }

    private static async Task<(FetchFunctions.Core.Summary.CrawlSummary Summary, List<UrlResult> Results)> CrawlAsync(EngineHost host, SiteGraph site, string jobId,
        CrawlDiscoveryOptions crawl, IProgress<CrawlProgress>? progress = null)
    {
        var submitted = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
        {
            JobId = jobId, Urls = [site.Site.AbsoluteUri], Crawl = crawl,
        }, CancellationToken.None);
        Assert.True(submitted.Accepted, string.Join("; ", submitted.Problems));
        var summary = await host.Provider.GetRequiredService<ICrawlRunner>().RunAsync(submitted.Ticket!, progress, CancellationToken.None);
        return (summary, await host.ResultsAsync(jobId));
    }

    private static string[] Pages(SiteGraph site) =>
        [.. site.Requests.Where(r => !r.EndsWith("/robots.txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private static string[] Expected(SiteGraph site, params string[] paths) =>
        [.. paths.Select(p => site.Expand(p).Replace("http://", string.Empty, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task RunAsync_DepthTwo_FetchesExactlyTheInScopePagesToDepthTwoEachOnce()
    {
        var (host, site) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = site;
        var progress = new Recorder();

        var (summary, results) = await CrawlAsync(host, site, $"dc-{Guid.NewGuid():N}", new CrawlDiscoveryOptions { MaxDepth = 2 }, progress);

        Assert.Equal(Expected(site,
                "{site}/",
                "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing", "{site}/cal/1", "{site}/meta",
                "{site}/a/deep", "{site}/sub/x", "{site}/d", "{site}/cal/2"),
            Pages(site));
        // One result per page planned: the seed, six at depth 1, four at depth 2.
        Assert.Equal(11, results.Count);
        Assert.Equal([1, 6, 4], results.GroupBy(r => r.Depth!.Value).OrderBy(g => g.Key).Select(g => g.Count()));
        Assert.All(results.Where(r => r.Depth > 0), r => Assert.NotNull(r.FoundOn));
        Assert.Equal(site.Site.AbsoluteUri, results.Single(r => r.Url.EndsWith("/a", StringComparison.Ordinal)).FoundOn);
        Assert.Equal(11, summary.Total);
        Assert.Equal(new Dictionary<int, long> { [0] = 1, [1] = 6, [2] = 4 }, summary.PagesByDepth);
        var discovery = Assert.IsType<DiscoverySummary>(summary.Discovery);
        Assert.Equal([1L, 6L, 4L], discovery.PagesByDepth);
        Assert.Equal(2L, discovery.Nofollow);
        var last = progress.Reports[^1];
        Assert.Equal((11L, 11L, 10L, 2), (last.UrlsDone, last.UrlsTotal, last.Discovered, last.Depth));
    }

    [Fact]
    public async Task RunAsync_SameJobAgain_FetchesNothingTwice()
    {
        var (host, site) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = site;
        var jobId = $"dc-{Guid.NewGuid():N}";
        await CrawlAsync(host, site, jobId, new CrawlDiscoveryOptions { MaxDepth = 2 });
        var firstRun = site.Requests.Count;

        var (summary, results) = await CrawlAsync(host, site, jobId, new CrawlDiscoveryOptions { MaxDepth = 2 });

        Assert.Equal(firstRun, site.Requests.Count);
        Assert.Equal(11, results.Count);
        Assert.Equal(11, summary.Total);
    }

    [Fact]
    public async Task RunAsync_MaxPages_CapsThePagesFetchedExactly()
    {
        var (host, site) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await CrawlAsync(host, site, $"dc-{Guid.NewGuid():N}", new CrawlDiscoveryOptions { MaxDepth = 5, MaxPages = 4 });

        Assert.Equal(4, results.Count);
        Assert.Equal(4, summary.Total);
        Assert.All(results, r => Assert.Single(Pages(site), p => "http://" + p == r.Url));
        Assert.True(summary.Discovery!.OverMaxPages > 0);
    }

    private sealed class Recorder : IProgress<CrawlProgress>
    {
        public List<CrawlProgress> Reports { get; } = [];

        public void Report(CrawlProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }
}
