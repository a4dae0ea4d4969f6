using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>The full site graph (<see cref="FullSiteGraph"/>) crawled with sitemaps followed: robots.txt's Sitemap line
/// names an index whose sitemap is gzipped; without the line, /sitemap.xml is read.</summary>
public sealed class DiscoverySitemapTests
{
    [Fact]
    public async Task RunAsync_SitemapIndexWithGzippedSitemap_AddsItsInScopeUrlsAtDepthZero()
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 1, FollowSitemaps = true });

        Assert.Equal(site.Seen([
                "{site}/", "{site}/sitemap-index.xml", "{site}/sitemaps/pages.xml.gz", "{site}/from-sitemap",
                "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing", "{site}/cal/1", "{site}/meta",
                "{site}/xrobots", "{site}/docs/", "{site}/sitemap-child",
            ]),
            FullSiteCrawl.Pages(site));
        Assert.Equal(site.Requests.Count, site.Requests.Distinct(StringComparer.Ordinal).Count());
        var fromSitemap = FullSiteCrawl.Row(site, results, "{site}/from-sitemap");
        Assert.Equal((0, site.Expand("{site}/sitemaps/pages.xml.gz")), (fromSitemap.Depth!.Value, fromSitemap.FoundOn));
        var child = FullSiteCrawl.Row(site, results, "{site}/sitemap-child");
        Assert.Equal((1, site.Expand("{site}/from-sitemap")), (child.Depth!.Value, child.FoundOn));
        var discovery = summary.Discovery!;
        // The sitemap lists the seed (a duplicate), one new page and a page of the other host (out of scope); /from-sitemap
        // links to /b, which the home page links to as well.
        Assert.Equal((1L, 2L, 3L), (discovery.SitemapUrls, discovery.Duplicates, discovery.OutOfScope));
        Assert.Equal([2L, 10L], discovery.PagesByDepth);
        Assert.Equal(new Dictionary<int, long> { [0] = 2, [1] = 10 }, summary.PagesByDepth);
    }

    [Fact]
    public async Task RunAsync_RobotsTxtNamesNoSitemap_ReadsSitemapXmlAndDepthZeroFetchesItsUrls()
    {
        var (host, site) = await FullSiteCrawl.StartAsync(FullSiteGraph.WithoutSitemapLine);
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 0, FollowSitemaps = true });

        Assert.Equal(site.Seen(["{site}/", "{site}/sitemap.xml", "{site}/from-fallback"]), FullSiteCrawl.Pages(site));
        Assert.Equal(2, results.Count);
        var fromFallback = FullSiteCrawl.Row(site, results, "{site}/from-fallback");
        Assert.Equal((0, site.Expand("{site}/sitemap.xml")), (fromFallback.Depth!.Value, fromFallback.FoundOn));
        Assert.Equal(1L, summary.Discovery!.SitemapUrls);
        Assert.Equal([2L], summary.Discovery.PagesByDepth);
    }

    [Fact]
    public async Task RunAsync_SitemapsAndRoundsOverSeveralShards_RequestsEachPageOnce()
    {
        // Batches of one URL, two per shard: the seed is shard 0, the sitemap's page shard 1, and each round starts at a
        // shard of its own, so round 1 reads the link logs of batches 0 and 2 with batch 1 (never written) between them.
        var (host, site) = await FullSiteCrawl.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Crawl:BatchesPerShard"] = "2",
            ["Crawl:MaxUrls"] = "1000",
            ["Crawl:MaxInlineUrls"] = "100",
        });
        await using var _ = host;
        await using var __ = site;

        var jobId = $"fg-{Guid.NewGuid():N}";

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 2, FollowSitemaps = true },
            new CrawlJobOptions { BatchSize = 1 }, jobId);

        Assert.Equal(site.Seen([
                "{site}/", "{site}/sitemap-index.xml", "{site}/sitemaps/pages.xml.gz", "{site}/from-sitemap",
                "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing", "{site}/cal/1", "{site}/meta",
                "{site}/xrobots", "{site}/docs/", "{site}/sitemap-child",
                "{site}/a/deep", "{site}/sub/x", "{site}/d", "{site}/cal/2", "{site}/docs/guide", "{site}/outside",
            ]),
            FullSiteCrawl.Pages(site));
        Assert.Equal(site.Requests.Count, site.Requests.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(18, results.Count);
        Assert.Equal([2L, 10L, 6L], summary.Discovery!.PagesByDepth);
        Assert.Equal(new Dictionary<int, long> { [0] = 2, [1] = 10, [2] = 6 }, summary.PagesByDepth);
        // The batches that committed results: the seed's 0, the sitemap round's 2, round 1's 4-13, round 2's 14-19.
        var batches = new List<int>();
        await foreach (var blob in host.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = $"{jobId}/results/" }))
        {
            batches.Add(int.Parse(Path.GetFileNameWithoutExtension(blob.Name), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal([0, 2, .. Enumerable.Range(4, 16)], batches);
    }
}
