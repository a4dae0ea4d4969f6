using System.Text;
using FetchFunctions.Core.Discovery;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class HtmlLinkExtractorTests
{
    private static readonly Uri Page = new("https://site.example/dir/page.html");

    private static HtmlLinkExtractor CreateSut() => new(2048, []);

    private static PageLinks Extract(string html, string contentType = "text/html", bool headerNofollow = false, Uri? page = null) =>
        CreateSut().Extract(Encoding.UTF8.GetBytes(html), contentType, page ?? Page, headerNofollow, truncated: false);

    private static string[] Urls(PageLinks links) => [.. links.Links.Select(l => l.Url)];

    [Theory]
    [InlineData("<a href=\"other.html\">", "https://site.example/dir/other.html")]
    [InlineData("<a href=\"/root\">", "https://site.example/root")]
    [InlineData("<a href=\"../up\">", "https://site.example/up")]
    [InlineData("<a href=\"?q=1\">", "https://site.example/dir/page.html?q=1")]
    [InlineData("<a href=\"//cdn.example/x\">", "https://cdn.example/x")]
    [InlineData("<a href=\"HTTP://Other.Example:80/a#frag\">", "http://other.example/a")]
    [InlineData("<a href=\"  spaced.html \n\">", "https://site.example/dir/spaced.html")]
    [InlineData("<a href=\"a b.html\">", "https://site.example/dir/a%20b.html")]
    [InlineData("<area href=\"map\">", "https://site.example/dir/map")]
    [InlineData("<frameset><frame src=\"f1\"></frameset>", "https://site.example/dir/f1")]
    [InlineData("<iframe src=\"/embed\"></iframe>", "https://site.example/embed")]
    [InlineData("<a href=\"caf&eacute;\">", "https://site.example/dir/caf%C3%A9")]
    public void Extract_OneLink_IsResolvedAgainstThePageAndNormalised(string html, string expected)
    {
        Assert.Equal([expected], Urls(Extract(html)));
    }

    [Theory]
    [InlineData("<a href=\"javascript:void(0)\">")]
    [InlineData("<a href=\"mailto:a@site.example\">")]
    [InlineData("<a href=\"data:text/html,hi\">")]
    [InlineData("<a href=\"ftp://site.example/f\">")]
    [InlineData("<a href=\"tel:+123\">")]
    [InlineData("<a href=\"http://user:pw@site.example/\">")]
    public void Extract_UnusableScheme_IsDroppedAndCounted(string html)
    {
        var links = Extract(html);

        Assert.Empty(links.Links);
        Assert.Equal(1, links.Unusable);
    }

    [Theory]
    [InlineData("<a href=\"#top\">")]
    [InlineData("<a href=\"\">")]
    [InlineData("<a name=\"x\">")]
    [InlineData("<link href=\"/style.css\" rel=\"stylesheet\"><img src=\"/i.png\"><script src=\"/s.js\"></script>")]
    [InlineData("<!-- <a href=\"/commented\"> -->")]
    [InlineData("<script>document.write('<a href=\"/scripted\">')</script>")]
    public void Extract_NoFollowableReference_FindsNothing(string html)
    {
        var links = Extract(html);

        Assert.Empty(links.Links);
        Assert.Equal(0, links.Unusable);
    }

    [Fact]
    public void Extract_BaseHref_ResolvesLaterLinksAgainstIt()
    {
        var links = Extract("<head><base href=\"https://mirror.example/base/\"></head><a href=\"rel\"></a><a href=\"/abs\"></a>");

        Assert.Equal(["https://mirror.example/base/rel", "https://mirror.example/abs"], Urls(links));
    }

    [Fact]
    public void Extract_RelativeBaseHref_IsResolvedAgainstThePage()
    {
        Assert.Equal(["https://site.example/other/x"], Urls(Extract("<base href=\"/other/\"><a href=\"x\">")));
    }

    [Fact]
    public void Extract_Duplicates_AreKeptOnceInDocumentOrder()
    {
        var links = Extract("<a href=\"/b\"></a><a href=\"/a\"></a><a href=\"/b#x\"></a><a href=\"https://SITE.example:443/a\"></a>");

        Assert.Equal(["https://site.example/b", "https://site.example/a"], Urls(links));
    }

    [Fact]
    public void Extract_RelNofollow_FlagsTheLinkUnlessAnotherOccurrenceIsFollowable()
    {
        var links = Extract("<a href=\"/n\" rel=\"external NoFollow\"></a><a href=\"/m\" rel=\"nofollow\"></a><a href=\"/m\"></a><a href=\"/f\"></a>");

        Assert.Equal([("https://site.example/n", true), ("https://site.example/m", false), ("https://site.example/f", false)],
            links.Links.Select(l => (l.Url, l.Nofollow)));
        Assert.False(links.PageNofollow);
    }

    [Theory]
    [InlineData("<meta name=\"robots\" content=\"noindex, nofollow\">")]
    [InlineData("<meta name=\"ROBOTS\" content=\"none\">")]
    public void Extract_MetaRobotsNofollow_MakesEveryLinkNofollow(string meta)
    {
        var links = Extract($"<head>{meta}</head><a href=\"/a\"></a><iframe src=\"/b\"></iframe>");

        Assert.True(links.PageNofollow);
        Assert.All(links.Links, link => Assert.True(link.Nofollow));
        Assert.Equal(2, links.Links.Count);
    }

    [Fact]
    public void Extract_MetaRobotsIndexFollow_LeavesLinksFollowable()
    {
        var links = Extract("<meta name=\"robots\" content=\"index, follow\"><meta name=\"description\" content=\"nofollow\"><a href=\"/a\">");

        Assert.False(links.PageNofollow);
        Assert.False(Assert.Single(links.Links).Nofollow);
    }

    [Fact]
    public void Extract_HeaderNofollow_MakesEveryLinkNofollow()
    {
        var links = Extract("<a href=\"/a\">", headerNofollow: true);

        Assert.True(links.PageNofollow);
        Assert.True(Assert.Single(links.Links).Nofollow);
    }

    [Theory]
    [InlineData(new[] { "nofollow" }, true)]
    [InlineData(new[] { "noindex, NOFOLLOW" }, true)]
    [InlineData(new[] { "noindex", "none" }, true)]
    [InlineData(new[] { "otherbot: nofollow" }, true)]
    [InlineData(new[] { "noindex, noarchive" }, false)]
    [InlineData(new string[0], false)]
    public void HeaderSaysNofollow_XRobotsTagValues_AreRead(string[] values, bool expected)
    {
        Assert.Equal(expected, HtmlLinkExtractor.HeaderSaysNofollow(values));
    }

    [Theory]
    [InlineData("text/html", true)]
    [InlineData("text/html; charset=utf-8", true)]
    [InlineData("TEXT/HTML", true)]
    [InlineData("application/xhtml+xml", true)]
    [InlineData("text/plain", false)]
    [InlineData("application/json", false)]
    [InlineData("image/png", false)]
    [InlineData(null, false)]
    [InlineData("not a type", false)]
    public void IsHtml_ContentTypes_OnlyHtmlAndXhtml(string? contentType, bool expected)
    {
        Assert.Equal(expected, HtmlLinkExtractor.IsHtml(contentType));
    }

    [Fact]
    public void Extract_CharsetFromHeader_DecodesTheBody()
    {
        var body = Encoding.Latin1.GetBytes("<a href=\"caf\u00e9\">");

        var links = CreateSut().Extract(body, "text/html; charset=iso-8859-1", Page, false, false);

        Assert.Equal(["https://site.example/dir/caf%C3%A9"], Urls(links));
    }

    [Fact]
    public void Extract_BodyCutMidTag_KeepsTheLinksBeforeTheCut()
    {
        var html = Encoding.UTF8.GetBytes("<a href=\"/whole\">x</a><a href=\"/cut-of");

        var links = CreateSut().Extract(html, "text/html", Page, false, truncated: true);

        Assert.Equal(["https://site.example/whole"], Urls(links));
        Assert.True(links.Truncated);
    }

    [Fact]
    public void Extract_MoreLinksThanTheCap_KeepsTheCapAndCountsTheRest()
    {
        var html = string.Concat(Enumerable.Range(0, HtmlLinkExtractor.MaxLinksPerPage + 5).Select(i => $"<a href=\"/p{i}\"></a>"));

        var links = Extract(html);

        Assert.Equal(HtmlLinkExtractor.MaxLinksPerPage, links.Links.Count);
        Assert.Equal(5, links.OverCap);
    }

    [Fact]
    public void Extract_LinkTooLongForTheJob_IsUnusable()
    {
        var links = new HtmlLinkExtractor(64, []).Extract(Encoding.UTF8.GetBytes($"<a href=\"/{new string('x', 80)}\"><a href=\"/ok\">"),
            "text/html", Page, false, false);

        Assert.Equal(["https://site.example/ok"], Urls(links));
        Assert.Equal(1, links.Unusable);
    }

    [Fact]
    public void Extract_PortNotAllowed_IsUnusable()
    {
        var links = new HtmlLinkExtractor(2048, [443]).Extract(Encoding.UTF8.GetBytes("<a href=\"https://site.example:8443/\"><a href=\"/ok\">"),
            "text/html", Page, false, false);

        Assert.Equal(["https://site.example/ok"], Urls(links));
        Assert.Equal(1, links.Unusable);
    }
}
