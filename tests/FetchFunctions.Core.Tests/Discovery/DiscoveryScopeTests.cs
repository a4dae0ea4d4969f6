using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>The full site graph (<see cref="FullSiteGraph"/>) crawled with each kind of scope, include and exclude
/// patterns, and nofollow not respected: exactly the expected pages are requested, each once.</summary>
public sealed class DiscoveryScopeTests
{
    private static readonly string[] ToDepthTwo =
    [
        "{site}/",
        "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing", "{site}/cal/1", "{site}/meta",
        "{site}/xrobots", "{site}/docs/",
        "{site}/a/deep", "{site}/sub/x", "{site}/d", "{site}/cal/2", "{site}/docs/guide", "{site}/outside",
    ];

    private static void AssertEachOnce(SiteGraph site) => Assert.Equal(site.Requests.Count, site.Requests.Distinct(StringComparer.Ordinal).Count());

    [Fact]
    public async Task RunAsync_PrefixScope_FollowsOnlyLinksUnderTheSeedsFolder()
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 3, Scope = ["prefix"] }, "{site}/docs/");

        // /docs/more links back to /docs/ (a duplicate); /outside is on the same host but not under /docs/.
        Assert.Equal(site.Seen(["{site}/docs/", "{site}/docs/guide", "{site}/docs/more"]), FullSiteCrawl.Pages(site));
        AssertEachOnce(site);
        Assert.Equal(3, results.Count);
        Assert.Equal((1L, 1L), (summary.Discovery!.OutOfScope, summary.Discovery.Duplicates));
    }

    [Fact]
    public async Task RunAsync_HostListWithABlockedAddress_RowSaysBlockedByPolicyAndNothingReachesIt()
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        // 127.0.0.3 is in scope, but the engine's allowed networks are 127.0.0.1/32 and 127.0.0.2/32 only.
        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 1, Scope = ["127.0.0.1", "127.0.0.3"] });

        Assert.Equal(site.Seen(ToDepthTwo.Take(11)), FullSiteCrawl.Pages(site));
        Assert.DoesNotContain(site.Requests, r => r.StartsWith(site.Third.Authority, StringComparison.Ordinal));
        AssertEachOnce(site);
        var blocked = FullSiteCrawl.Row(site, results, "{third}/blocked");
        Assert.Equal((FetchErrorKind.BlockedByPolicy, 1, site.Expand("{site}/")), (blocked.ErrorKind!.Value, blocked.Depth!.Value, blocked.FoundOn));
        Assert.Null(blocked.Status);
        // The seed and ten links: the nine of the host scope and the blocked one; only {other}/off is out of scope.
        Assert.Equal(11, results.Count);
        Assert.Equal(1L, summary.Discovery!.OutOfScope);
    }

    [Fact]
    public async Task RunAsync_Include_FollowsOnlyMatchingLinksButAlwaysTheSeed()
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 2, Include = ["*/docs/*"] });

        Assert.Equal(site.Seen(["{site}/", "{site}/docs/", "{site}/docs/guide"]), FullSiteCrawl.Pages(site));
        AssertEachOnce(site);
        Assert.Equal(3, results.Count);
        // Eight links of the home page (/nofollowed is nofollow first), then /outside.
        Assert.Equal(9L, summary.Discovery!.Excluded);
    }

    [Fact]
    public async Task RunAsync_Exclude_LeavesOutMatchingLinksAndWhatOnlyTheyLinkTo()
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, results) = await FullSiteCrawl.CrawlAsync(host, site,
            new CrawlDiscoveryOptions { MaxDepth = 2, Exclude = ["*/cal/*", "*/private/*"] });

        Assert.Equal(site.Seen(ToDepthTwo.Where(p => !p.Contains("/cal/", StringComparison.Ordinal))), FullSiteCrawl.Pages(site));
        AssertEachOnce(site);
        Assert.DoesNotContain(results, r => r.Url.Contains("/private/", StringComparison.Ordinal));
        Assert.Equal(13, results.Count);
        Assert.Equal(2L, summary.Discovery!.Excluded);
    }

    [Fact]
    public async Task RunAsync_NofollowNotRespected_FollowsRelMetaAndHeaderNofollowLinks()
    {
        var (host, site) = await FullSiteCrawl.StartAsync();
        await using var _ = host;
        await using var __ = site;

        var (summary, _) = await FullSiteCrawl.CrawlAsync(host, site, new CrawlDiscoveryOptions { MaxDepth = 2, RespectNofollow = false });

        Assert.Equal(site.Seen([.. ToDepthTwo, "{site}/nofollowed", "{site}/never-meta", "{site}/never-header"]), FullSiteCrawl.Pages(site));
        AssertEachOnce(site);
        Assert.Equal(0L, summary.Discovery!.Nofollow);
        Assert.Equal([1L, 10L, 8L], summary.Discovery.PagesByDepth);
    }
}
