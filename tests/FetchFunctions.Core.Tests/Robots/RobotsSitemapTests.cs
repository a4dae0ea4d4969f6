using System.Text;
using FetchFunctions.Core.Robots;

namespace FetchFunctions.Core.Tests.Robots;

public sealed class RobotsSitemapTests
{
    private static RobotsRules CreateSutAndParse(string text) => RobotsParser.Parse(Encoding.UTF8.GetBytes(text), "FetchFunctions");

    [Fact]
    public void Parse_SitemapLines_AreKeptWhateverGroupTheyStandIn()
    {
        var rules = CreateSutAndParse("""
            Sitemap: https://a.example/sitemap-index.xml
            User-agent: other
            Disallow: /
            sitemap:https://cdn.example/s2.xml.gz # second
            User-agent: *
            Disallow: /private/
            Sitemap: /relative.xml
            Sitemap: ftp://a.example/s.xml
            """);

        Assert.Equal(["https://a.example/sitemap-index.xml", "https://cdn.example/s2.xml.gz"], rules.Sitemaps);
        Assert.False(rules.Decide("/private/x").Allowed);
        Assert.True(rules.Decide("/public").Allowed);
    }

    [Fact]
    public void Parse_ManySitemapLines_KeepsTheCap()
    {
        var text = string.Concat(Enumerable.Range(0, RobotsParser.MaxSitemaps + 10).Select(i => $"Sitemap: https://a.example/s{i}.xml\n"));

        Assert.Equal(RobotsParser.MaxSitemaps, CreateSutAndParse(text).Sitemaps.Count);
    }
}
