using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class DiscoveryRulesTests
{
    private static DiscoverySettings Settings(int maxDepth = 2, bool respectNofollow = true, string[]? include = null, string[]? exclude = null) => new()
    {
        MaxDepth = maxDepth, MaxPages = 100, Scope = ScopeKind.Host, FollowSitemaps = false, RespectNofollow = respectNofollow,
        Include = include ?? [], Exclude = exclude ?? [],
    };

    private static LinkVerdict CreateSutAndDecide(string url, bool nofollow, int pageDepth, DiscoverySettings settings) =>
        DiscoveryRules.Decide(url, nofollow, pageDepth, settings, CrawlScope.For(settings, ["https://site.example/"]));

    private static string Verdict(string url, bool nofollow, int pageDepth, DiscoverySettings settings) =>
        CreateSutAndDecide(url, nofollow, pageDepth, settings).ToString();

    [Theory]
    [InlineData(0, 2, "Follow")]
    [InlineData(1, 2, "Follow")]
    [InlineData(2, 2, "TooDeep")]
    [InlineData(0, 0, "TooDeep")]
    public void Decide_LinkDepth_IsPageDepthPlusOneAndCappedAtMaxDepth(int pageDepth, int maxDepth, string expected)
    {
        Assert.Equal(expected, Verdict("https://site.example/x", false, pageDepth, Settings(maxDepth)));
    }

    [Theory]
    [InlineData(true, "Nofollow")]
    [InlineData(false, "Follow")]
    public void Decide_NofollowLink_FollowedOnlyWhenTheJobSaysSo(bool respect, string expected)
    {
        Assert.Equal(expected, Verdict("https://site.example/x", true, 0, Settings(respectNofollow: respect)));
    }

    [Fact]
    public void Decide_OffScopeHost_IsOutOfScope()
    {
        Assert.Equal(LinkVerdict.OutOfScope, CreateSutAndDecide("https://elsewhere.example/x", false, 0, Settings()));
    }

    [Theory]
    [InlineData("https://site.example/docs/a", "Follow")]
    [InlineData("https://site.example/blog/a", "Excluded")]
    [InlineData("https://site.example/docs/a?print=1", "Excluded")]
    public void Decide_IncludeAndExclude_KeepOnlyMatchingUrls(string url, string expected)
    {
        Assert.Equal(expected, Verdict(url, false, 0, Settings(include: ["*/docs/*"], exclude: ["*print=*"])));
    }

    [Theory]
    [InlineData(2, 1, 200, "text/html", true)]
    [InlineData(2, 2, 200, "text/html", false)]
    [InlineData(2, 0, 404, "text/html", false)]
    [InlineData(2, 0, 200, "image/png", false)]
    [InlineData(2, 0, 200, "application/xhtml+xml; charset=utf-8", true)]
    public void CapturesLinks_OnlyHtmlSuccessBelowMaxDepth(int maxDepth, int pageDepth, int status, string contentType, bool expected)
    {
        Assert.Equal(expected, DiscoveryRules.CapturesLinks(Settings(maxDepth), pageDepth, status, contentType));
        Assert.False(DiscoveryRules.CapturesLinks(null, pageDepth, status, contentType));
    }
}
