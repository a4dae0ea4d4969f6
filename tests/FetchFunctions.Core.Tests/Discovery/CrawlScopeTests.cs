using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class CrawlScopeTests
{
    private static CrawlScope CreateSut(ScopeKind kind, string[] seeds, params string[] hosts) =>
        CrawlScope.For(new DiscoverySettings
        {
            MaxDepth = 1, MaxPages = 100, Scope = kind, ScopeHosts = hosts, FollowSitemaps = false, RespectNofollow = true,
        }, seeds);

    [Theory]
    [InlineData("https://site.example/other", true)]
    [InlineData("http://site.example:8080/x", true)]
    [InlineData("https://www.site.example/", false)]
    [InlineData("https://second.example/deep/page", true)]
    [InlineData("https://other.example/", false)]
    public void Contains_HostScope_AnySeedsHost(string url, bool expected)
    {
        var sut = CreateSut(ScopeKind.Host, ["https://site.example/a/b", "https://second.example/"]);

        Assert.Equal(expected, sut.Contains(url));
    }

    [Theory]
    [InlineData("https://site.example/docs/v1/", true)]
    [InlineData("https://site.example/docs/v1/page?x=1", true)]
    [InlineData("https://site.example/docs/v1/deeper/page", true)]
    [InlineData("https://site.example/docs/v2/", false)]
    [InlineData("https://site.example/docs/", false)]
    [InlineData("https://site.example/blog/post", true)]
    [InlineData("https://site.example/blogger", false)]
    [InlineData("http://site.example/docs/v1/", false)]
    [InlineData("https://site.example/", false)]
    public void Contains_PrefixScope_SeedUpToItsLastSlash(string url, bool expected)
    {
        var sut = CreateSut(ScopeKind.Prefix, ["https://site.example/docs/v1/index.html?lang=en", "https://site.example/blog/", "https://site.example/blog/2024/"]);

        Assert.Equal(expected, sut.Contains(url));
    }

    [Theory]
    [InlineData("https://a.example/", true)]
    [InlineData("https://www.a.example/", false)]
    [InlineData("https://b.example/", false)]
    [InlineData("https://x.b.example/", true)]
    [InlineData("https://y.x.b.example/p", true)]
    [InlineData("https://notb.example/", false)]
    [InlineData("http://127.0.0.2:8080/", true)]
    [InlineData("https://site.example/", false)]
    public void Contains_HostList_ExactNamesAndSubdomainWildcards(string url, bool expected)
    {
        var sut = CreateSut(ScopeKind.Hosts, ["https://site.example/"], "a.example", "*.b.example", "127.0.0.2");

        Assert.Equal(expected, sut.Contains(url));
    }

    [Theory]
    [InlineData("https://site.example/a/b", "https://site.example/a/")]
    [InlineData("https://site.example/a/b/", "https://site.example/a/b/")]
    [InlineData("https://site.example/", "https://site.example/")]
    [InlineData("https://site.example/a?next=/x/y", "https://site.example/")]
    public void PrefixOf_Seed_IsItsUrlUpToTheLastSlashOfThePath(string seed, string expected)
    {
        Assert.Equal(expected, CrawlScope.PrefixOf(seed));
    }
}
