using System.Text;
using FetchFunctions.Core.Robots;

namespace FetchFunctions.Core.Tests.Robots;

/// <summary>Table tests against RFC 9309's rules and examples.</summary>
public sealed class RobotsParserTests
{
    /// <summary>RFC 9309 5.1, "Simple Example".</summary>
    private const string SimpleExample = """
        User-Agent: *
        Disallow: *.gif$
        Disallow: /example/
        Allow: /publications/

        User-Agent: foobot
        Disallow:/
        Allow:/example/page.html
        Allow:/example/allowed.gif

        User-Agent: barbot
        User-Agent: bazbot
        Disallow: /example/page.html

        User-Agent: quxbot

        EOF
        """;

    private static RobotsRules CreateSut(string robots, string agent) => RobotsParser.Parse(Encoding.UTF8.GetBytes(robots), agent);

    [Theory]
    [InlineData("foobot", "/example/page.html", true)]
    [InlineData("foobot", "/example/allowed.gif", true)]
    [InlineData("foobot", "/example/other.html", false)]
    [InlineData("foobot", "/", false)]
    [InlineData("FOOBOT", "/publications/", false)]
    [InlineData("barbot", "/example/page.html", false)]
    [InlineData("bazbot", "/example/page.html", false)]
    [InlineData("bazbot", "/example/other.gif", true)]
    [InlineData("quxbot", "/example/page.gif", true)]
    [InlineData("otherbot", "/example/page.html", false)]
    [InlineData("otherbot", "/images/a.gif", false)]
    [InlineData("otherbot", "/images/a.gif?x=1", true)]
    [InlineData("otherbot", "/publications/", true)]
    [InlineData("otherbot", "/", true)]
    public void Parse_SimpleExampleOfRfc_DecidesAsTheRfcSays(string agent, string path, bool allowed) =>
        Assert.Equal(allowed, CreateSut(SimpleExample, agent).Decide(path).Allowed);

    [Theory]
    // RFC 9309 5.2, "Longest Match".
    [InlineData("allow: /example/page/\ndisallow: /example/page/disallowed.gif", "/example/page/disallowed.gif", false)]
    [InlineData("allow: /example/page/\ndisallow: /example/page/disallowed.gif", "/example/page/other.gif", true)]
    // A tie goes to allow, whatever the order.
    [InlineData("disallow: /page\nallow: /page", "/page", true)]
    [InlineData("allow: /page\ndisallow: /page", "/page", true)]
    [InlineData("disallow: /*.php$\nallow: /*", "/a.php", false)]
    // * and $ (RFC 9309 2.2.3).
    [InlineData("disallow: /this/*/exactly", "/this/any/thing/exactly", false)]
    [InlineData("disallow: /this/path/exactly$", "/this/path/exactly", false)]
    [InlineData("disallow: /this/path/exactly$", "/this/path/exactly/not", true)]
    [InlineData("disallow: /*?session=", "/a/b?session=1", false)]
    [InlineData("disallow: /**x", "/aaaa", true)]
    // Prefix match, case-sensitive paths.
    [InlineData("disallow: /private", "/private-notes", false)]
    [InlineData("disallow: /private/", "/Private/a", true)]
    // An empty value matches nothing; a value not starting with / or * is not a path.
    [InlineData("disallow:", "/anything", true)]
    [InlineData("disallow: private", "/private", true)]
    // /robots.txt is always allowed.
    [InlineData("disallow: /", "/robots.txt", true)]
    [InlineData("disallow: /", "/", false)]
    // Comments, surrounding spaces, lines without a colon and unknown records.
    [InlineData("disallow: /a # not /b\n# disallow: /b\nthis line has no colon\nsitemap: https://x/s.xml\nfoo: bar", "/b", true)]
    [InlineData("disallow: /a # not /b", "/a/1", false)]
    [InlineData("   DISALLOW   :   /a   ", "/a", false)]
    public void Decide_Rules_FollowLongestMatchAndSpecialCharacters(string rules, string path, bool allowed) =>
        Assert.Equal(allowed, CreateSut("user-agent: FetchFunctions\n" + rules, "FetchFunctions").Decide(path).Allowed);

    [Theory]
    // RFC 9309 2.2.2: the path table (an encoded unreserved character is decoded, non-ASCII is encoded, hex case ignored).
    [InlineData("/foo/bar?baz=quz", "/foo/bar?baz=quz")]
    [InlineData("/foo/bar/\u30c4", "/foo/bar/%E3%83%84")]
    [InlineData("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84")]
    [InlineData("/foo/bar/%e3%83%84", "/foo/bar/%E3%83%84")]
    [InlineData("/foo/bar/%62%61%7A", "/foo/bar/baz")]
    [InlineData("/a%2Fb", "/a%2Fb")]
    [InlineData("/100%", "/100%")]
    public void Normalise_Paths_AsRfc9309Section222(string path, string expected) =>
        Assert.Equal(expected, RobotsRules.Normalise(path));

    [Theory]
    [InlineData("disallow: /foo/bar/%E3%83%84", "/foo/bar/\u30c4", false)]
    [InlineData("disallow: /foo/bar/\u30c4", "/foo/bar/%e3%83%84", false)]
    [InlineData("disallow: /foo/bar/%62%61%7A", "/foo/bar/baz", false)]
    [InlineData("disallow: /foo/bar/baz", "/foo/bar/%62%61%7a", false)]
    [InlineData("disallow: /a%2Fb", "/a/b", true)]
    public void Decide_PercentEncoding_ComparesNormalisedForms(string rules, string path, bool allowed) =>
        Assert.Equal(allowed, CreateSut("user-agent: *\n" + rules, "FetchFunctions").Decide(path).Allowed);

    [Fact]
    public void Parse_GroupsOfOneAgent_AreMerged()
    {
        // RFC 9309 2.2.1.
        var sut = CreateSut("user-agent: ExampleBot\ndisallow: /foo\ndisallow: /bar\n\nuser-agent: *\ndisallow: /star\n\nuser-agent: examplebot\ndisallow: /baz\n", "ExampleBot");

        Assert.Equal(["/foo", "/bar", "/baz"], sut.Rules.Select(r => r.Pattern));
        Assert.True(sut.Decide("/star").Allowed);
    }

    [Fact]
    public void Parse_StarGroups_AreMergedAndUsedWhenNoGroupNamesUs()
    {
        var sut = CreateSut("user-agent: *\ndisallow: /a\nuser-agent: other\ndisallow: /b\nuser-agent: *\ndisallow: /c", "FetchFunctions");

        Assert.Equal(["/a", "/c"], sut.Rules.Select(r => r.Pattern));
    }

    [Theory]
    [InlineData("user-agent: FetchFunctions/2.0\ndisallow: /x", true)]
    [InlineData("user-agent: fetchfunctions\ndisallow: /x", true)]
    [InlineData("user-agent: FetchFunctionsX\ndisallow: /x", false)]
    [InlineData("user-agent: Fetch\ndisallow: /x", false)]
    [InlineData("disallow: /x\nuser-agent: FetchFunctions", false)]
    [InlineData("user-agent: a\nuser-agent: FetchFunctions\nuser-agent: b\ndisallow: /x", true)]
    public void Parse_UserAgentLines_MatchTheProductTokenOnly(string robots, bool disallowed) =>
        Assert.Equal(disallowed, !CreateSut(robots, RobotsParser.ProductToken("FetchFunctions/1.0 (+https://example.org/bot)")).Decide("/x").Allowed);

    [Theory]
    [InlineData("FetchFunctions/1.0", "FetchFunctions")]
    [InlineData("My_Bot-2/3 (x)", "My_Bot-")]
    [InlineData("  Crawler ", "Crawler")]
    public void ProductToken_UserAgents_AreTheirLeadingToken(string userAgent, string token) =>
        Assert.Equal(token, RobotsParser.ProductToken(userAgent));

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\r")]
    [InlineData("\n")]
    public void Parse_AnyLineEnding_SplitsLines(string newline)
    {
        var sut = CreateSut(string.Join(newline, "user-agent: *", "disallow: /a", "allow: /a/b", "crawl-delay: 2.5"), "FetchFunctions");

        Assert.Equal([new RobotsRule(false, "/a"), new RobotsRule(true, "/a/b")], sut.Rules);
        Assert.Equal(TimeSpan.FromSeconds(2.5), sut.CrawlDelay);
    }

    [Fact]
    public void Parse_ByteOrderMark_IsSkipped()
    {
        var sut = RobotsParser.Parse([0xEF, 0xBB, 0xBF, .. "user-agent: *\ndisallow: /a"u8], "FetchFunctions");

        Assert.False(sut.Decide("/a").Allowed);
    }

    [Fact]
    public void Parse_BeyondFiveHundredKibibytes_IsIgnored()
    {
        var padding = new string('#', RobotsParser.MaxBytes - "user-agent: *\ndisallow: /a\n".Length - 1);
        var sut = CreateSut($"user-agent: *\ndisallow: /a\n{padding}\ndisallow: /b\n", "FetchFunctions");

        Assert.False(sut.Decide("/a").Allowed);
        Assert.True(sut.Decide("/b").Allowed);
    }

    [Theory]
    [InlineData("crawl-delay: 3", 3.0)]
    [InlineData("crawl-delay: 0.5", 0.5)]
    [InlineData("crawl-delay: soon", null)]
    [InlineData("crawl-delay: -1", null)]
    public void Parse_CrawlDelay_IsReadFromTheMatchedGroup(string line, double? seconds)
    {
        var sut = CreateSut($"user-agent: other\ncrawl-delay: 60\n\nuser-agent: *\n{line}\ndisallow: /a", "FetchFunctions");

        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, sut.CrawlDelay);
        Assert.False(sut.Decide("/a").Allowed);
    }

    [Fact]
    public void Decide_DisallowedPath_NamesTheRule()
    {
        var decision = CreateSut("user-agent: *\ndisallow: /private/\nallow: /private/open", "FetchFunctions").Decide("/private/x?token=secret");

        Assert.Equal(new RobotsDecision(false, new RobotsRule(false, "/private/")), decision);
    }

    [Fact]
    public void Matches_ManyStarsAgainstLongPath_FinishesInLinearSteps()
    {
        var pattern = "/" + string.Concat(Enumerable.Repeat("*a", 200)) + "b$";

        Assert.False(RobotsRules.Matches(pattern, "/" + new string('a', 5000)));
    }
}
