using System.Text;
using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class SitemapWalkerTests
{
    private static readonly DiscoverySettings Settings = new()
    {
        MaxDepth = 0, MaxPages = 100, Scope = ScopeKind.Host, FollowSitemaps = true, RespectNofollow = true, Exclude = ["*/private/*"],
    };

    private static (SitemapWalker Sut, List<string> Fetched) CreateSut(Dictionary<string, byte[]> files)
    {
        var fetched = new List<string>();
        var sut = new SitemapWalker(async (url, token) =>
        {
            fetched.Add(url.AbsoluteUri);
            return files.TryGetValue(url.AbsoluteUri, out var body) ? await SitemapReader.ReadAsync(new MemoryStream(body), token) : null;
        }, 2048, []);
        return (sut, fetched);
    }

    private static Task<SitemapHarvest> WalkAsync(SitemapWalker sut, IEnumerable<Uri> roots, string[] seeds, int room = 100) =>
        sut.WalkAsync(roots, Settings, CrawlScope.For(Settings, seeds), [.. seeds.Select(CrawlJobValidator.Fingerprint)], room, CancellationToken.None);

    [Fact]
    public void Roots_RobotsSitemapLines_ElseSitemapXml()
    {
        var origin = new Uri("https://a.example/");

        Assert.Equal([new Uri("https://a.example/sitemap.xml")], SitemapWalker.Roots(origin, []));
        Assert.Equal([new Uri("https://cdn.example/map.xml")], SitemapWalker.Roots(origin, ["https://cdn.example/map.xml", "not a url"]));
    }

    [Fact]
    public async Task WalkAsync_IndexWithAGzippedSitemap_AddsInScopeNewUrlsOnly()
    {
        var (sut, fetched) = CreateSut(new()
        {
            ["https://a.example/sitemap.xml"] = Encoding.UTF8.GetBytes(SitemapReaderTests.Index(["https://a.example/s1.xml.gz", "https://a.example/missing.xml"])),
            ["https://a.example/s1.xml.gz"] = SitemapReaderTests.Gzip(SitemapReaderTests.UrlSet(
            [
                "https://a.example/", "https://a.example/new", "https://A.example:443/new#frag", "https://off.example/x", "https://a.example/private/p",
                "ftp://a.example/f",
            ])),
        });

        var harvest = await WalkAsync(sut, [new Uri("https://a.example/sitemap.xml")], ["https://a.example/"]);

        Assert.Equal([new SitemapUrl("https://a.example/new", "https://a.example/s1.xml.gz")], harvest.Urls);
        Assert.Equal((3, 6L, 1L, 1L, 2L, 1L), (harvest.SitemapsRead, harvest.Listed, harvest.OutOfScope, harvest.Excluded, harvest.Duplicates, harvest.Unusable));
        Assert.Equal(["https://a.example/sitemap.xml", "https://a.example/s1.xml.gz", "https://a.example/missing.xml"], fetched);
    }

    [Fact]
    public async Task WalkAsync_IndexesNestedDeeperThanTheLimit_AreNotFollowed()
    {
        var files = new Dictionary<string, byte[]>();
        for (var level = 0; level <= SitemapWalker.MaxIndexDepth + 1; level++)
        {
            files[$"https://a.example/i{level}.xml"] = Encoding.UTF8.GetBytes(SitemapReaderTests.Index([$"https://a.example/i{level + 1}.xml"]));
        }

        var (sut, fetched) = CreateSut(files);

        await WalkAsync(sut, [new Uri("https://a.example/i0.xml")], ["https://a.example/"]);

        Assert.Equal(SitemapWalker.MaxIndexDepth + 1, fetched.Count);
    }

    [Fact]
    public async Task WalkAsync_MoreUrlsThanRoom_CountsTheRestOverMaxPages()
    {
        var (sut, _) = CreateSut(new()
        {
            ["https://a.example/sitemap.xml"] = Encoding.UTF8.GetBytes(SitemapReaderTests.UrlSet(["https://a.example/1", "https://a.example/2", "https://a.example/3"])),
        });

        var harvest = await WalkAsync(sut, [new Uri("https://a.example/sitemap.xml")], ["https://a.example/"], room: 2);

        Assert.Equal(["https://a.example/1", "https://a.example/2"], harvest.Urls.Select(u => u.Url));
        Assert.Equal(1, harvest.OverMaxPages);
    }
}
