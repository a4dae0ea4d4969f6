using FetchFunctions.Core.Discovery;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class UrlPatternTests
{
    [Theory]
    [InlineData("https://a.example/docs/*", "https://a.example/docs/x/y", true)]
    [InlineData("https://a.example/docs/*", "https://a.example/doc", false)]
    [InlineData("*/docs/*", "https://a.example/docs/", true)]
    [InlineData("*?print=*", "https://a.example/p?print=1", true)]
    [InlineData("*?print=*", "https://a.example/print", false)]
    [InlineData("*.pdf", "https://a.example/file.pdf", true)]
    [InlineData("*.pdf", "https://a.example/file.pdf?x", false)]
    [InlineData("https://a.example/exact", "https://a.example/exact", true)]
    [InlineData("https://a.example/exact", "https://a.example/exactly", false)]
    [InlineData("*a*b*c*", "https://xaybzc/", true)]
    [InlineData("*a*b*c*", "https://xcybza/", false)]
    [InlineData("**", "", true)]
    [InlineData("*/Docs/*", "https://a.example/docs/", false)]
    public void Matches_Glob_StarMatchesAnyRunEverythingElseItself(string pattern, string url, bool expected)
    {
        Assert.Equal(expected, UrlPattern.Matches(pattern, url));
    }

    [Fact]
    public void Matches_AdversarialPattern_FinishesWithoutBacktrackingBlowUp()
    {
        // A pattern that makes a backtracking regex engine explode is a bounded double loop here.
        var pattern = string.Concat(Enumerable.Repeat("*a", 200)) + "b";
        var url = new string('a', 2048);

        Assert.False(UrlPattern.Matches(pattern, url));
    }
}
