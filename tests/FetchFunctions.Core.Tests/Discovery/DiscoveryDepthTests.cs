using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>The full site graph (<see cref="FullSiteGraph"/>) crawled from its home page with the default rules (scope
/// host, nofollow respected, no sitemaps) at every depth limit: exactly the expected pages are requested, each once,
/// and the result rows and the summary say where each page was found.</summary>
public sealed class DiscoveryDepthTests
{
    /// <summary>The pages requested at each depth, literally (a redirect's target is requested with the redirect).</summary>
    private static readonly string[][] PagesAtDepth =
    [
        ["{site}/"],
        [
            "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing", "{site}/cal/1", "{site}/meta",
            "{site}/xrobots", "{site}/docs/",
        ],
        ["{site}/a/deep", "{site}/sub/x", "{site}/d", "{site}/cal/2", "{site}/docs/guide", "{site}/outside"],
        ["{site}/deeper", "{site}/cal/3", "{site}/docs/more"],
    ];

    [Theory]
    [InlineData(0, new long[] { 1 })]
    [InlineData(1, new long[] { 1, 9 })] // /private/secret is planned (a row saying robots.txt disallows it), never requested
    [InlineData(2, new long[] { 1, 9, 6 })]
    [InlineData(3, new long[] { 1, 9, 6, 3 })]
    public async Task RunAsync_EachDepthLimit_RequestsExactlyThePagesToThatDepthEachOnce(int maxDepth, long[] rowsByDepth)
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = maxDepth });

        Assert.Equal(site.Seen(PagesAtDepth.Take(maxDepth + 1).SelectMany(p => p)), FullSiteCrawl.Pages(site));
        Assert.Equal(site.Requests.Count, site.Requests.Distinct(StringComparer.Ordinal).Count());
        Assert.Single(site.Requests, r => r == site.Seen(["{site}/robots.txt"])[0]);
        Assert.DoesNotContain(site.Requests,
            r => r.StartsWith(site.Third.Authority, StringComparison.Ordinal) || r.Contains("/private/", StringComparison.Ordinal));
        Assert.Equal(rowsByDepth, results.GroupBy(r => (long)r.Depth!.Value).OrderBy(g => g.Key).Select(g => (long)g.Count()));
        Assert.Equal(rowsByDepth.Sum(), summary.Total);
        Assert.Equal(rowsByDepth.Select((count, depth) => (depth, count)).ToDictionary(p => p.depth, p => p.count), summary.PagesByDepth);
        Assert.Equal(rowsByDepth, Assert.IsType<DiscoverySummary>(summary.Discovery).PagesByDepth);
        Assert.Equal(results.Count, results.Select(r => r.Url).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task RunAsync_DepthThree_RowsSayTheirDepthAndThePageTheyWereFoundOn()
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (_, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 3 });

        var places = results.Where(r => r.Url != site.Expand("{site}/deeper"))
            .Select(r => $"{FullSiteCrawl.Unexpand(site, r.Url)} {FullSiteCrawl.Place(site, r)}").Order(StringComparer.Ordinal);
        Assert.Equal(new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["{site}/"] = "0 ",
            ["{site}/a"] = "1 {site}/",
            ["{site}/b"] = "1 {site}/",
            ["{site}/redirect-in"] = "1 {site}/",
            ["{site}/redirect-out"] = "1 {site}/",
            ["{site}/private/secret"] = "1 {site}/",
            ["{site}/cal/1"] = "1 {site}/",
            ["{site}/meta"] = "1 {site}/",
            ["{site}/xrobots"] = "1 {site}/",
            ["{site}/docs/"] = "1 {site}/",
            ["{site}/a/deep"] = "2 {site}/a",
            ["{site}/sub/x"] = "2 {site}/b",
            // Found on the final URL of /redirect-in.
            ["{site}/d"] = "2 {site}/c",
            ["{site}/cal/2"] = "2 {site}/cal/1",
            ["{site}/docs/guide"] = "2 {site}/docs/",
            ["{site}/outside"] = "2 {site}/docs/",
            ["{site}/cal/3"] = "3 {site}/cal/2",
            ["{site}/docs/more"] = "3 {site}/docs/guide",
        }.Select(p => $"{p.Key} {p.Value}").Order(StringComparer.Ordinal), places);
        // Three depth-2 pages link to /deeper: it is found on whichever page's links were logged first (pages are logged as
        // they complete).
        Assert.Contains(FullSiteCrawl.Place(site, FullSiteCrawl.Row(site, results, "{site}/deeper")),
            new[] { "3 {site}/a/deep", "3 {site}/sub/x", "3 {site}/d" });
        Assert.Equal(site.Expand("{site}/c"), FullSiteCrawl.Row(site, results, "{site}/redirect-in").FinalUrl);
        Assert.Equal(site.Expand("{other}/landing"), FullSiteCrawl.Row(site, results, "{site}/redirect-out").FinalUrl);
        var disallowed = FullSiteCrawl.Row(site, results, "{site}/private/secret");
        Assert.Equal((FetchErrorKind.DisallowedByRobots, false), (disallowed.ErrorKind!.Value, disallowed.Started));
    }

    [Theory]
    // depth: links found, out of scope, duplicates, nofollow, unusable (mailto:)
    [InlineData(0, 0, 0, 0, 0, 0)]
    [InlineData(1, 12, 2, 0, 1, 1)]
    [InlineData(2, 24, 3, 3, 3, 1)]
    [InlineData(3, 30, 3, 6, 3, 1)]
    public async Task RunAsync_EachDepthLimit_SummaryCountsWhatHappenedToEveryLink(int maxDepth, long links, long outOfScope, long duplicates,
        long nofollow, long unusable)
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, _) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = maxDepth });

        var discovery = Assert.IsType<DiscoverySummary>(summary.Discovery);
        Assert.Equal((links, outOfScope, duplicates, nofollow, unusable), (discovery.LinksFound, discovery.OutOfScope, discovery.Duplicates,
            discovery.Nofollow, discovery.Unusable));
        Assert.Equal((0L, 0L, 0L, 0L), (discovery.Excluded, discovery.TooDeep, discovery.OverMaxPages, discovery.SitemapUrls));
    }

    [Theory]
    // maxPages 5: the seed and the first four links of the home page, in document order; the rest is over maxPages.
    [InlineData(5, new[] { "{site}/", "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing" }, 8)]
    [InlineData(1, new[] { "{site}/" }, 9)]
    public async Task RunAsync_MaxPages_PlansExactlyThatManyPages(int maxPages, string[] requested, long overMaxPages)
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 3, MaxPages = maxPages });

        Assert.Equal(maxPages, results.Count);
        Assert.Equal(maxPages, summary.Total);
        Assert.Equal(site.Seen(requested), FullSiteCrawl.Pages(site));
        Assert.Equal(overMaxPages, summary.Discovery!.OverMaxPages);
    }
}
