using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class UrlNormaliserTests
{
    private static string? Normalise(string? raw, out string normalised, int maxLength = 2048, int[]? ports = null) =>
        UrlNormaliser.TryNormalise(raw, maxLength, ports ?? [], out normalised);

    [Theory]
    [InlineData("HTTP://Example.COM:80/a/../b?x=1#frag", "http://example.com/b?x=1")]
    [InlineData("https://example.com:443", "https://example.com/")]
    [InlineData("http://example.com:443/", "http://example.com:443/")]
    [InlineData("  https://example.com/path  ", "https://example.com/path")]
    [InlineData("https://BÜCHER.de/päth", "https://xn--bcher-kva.de/p%C3%A4th")]
    [InlineData("http://[::1]:8080/x#y", "http://[::1]:8080/x")]
    [InlineData("http://example.com/a b", "http://example.com/a%20b")]
    [InlineData("http://127.1/", "http://127.0.0.1/")]
    public void TryNormalise_ValidUrl_ReturnsCanonicalForm(string raw, string expected)
    {
        Assert.Null(Normalise(raw, out var normalised));
        Assert.Equal(expected, normalised);
    }

    [Theory]
    [InlineData("HTTP://Example.COM:80/a/../b?x=1#frag")]
    [InlineData("https://BÜCHER.de/päth?q=ä")]
    [InlineData("http://[::FFFF:127.0.0.1]/")]
    [InlineData("http://example.com/%7Euser/a%2fb?")]
    public void TryNormalise_CanonicalForm_IsFixedPointOfUriParsing(string raw)
    {
        Assert.Null(Normalise(raw, out var once));
        Assert.Null(Normalise(once, out var twice));
        Assert.Equal(once, twice);
        Assert.Equal(once, new Uri(once).AbsoluteUri);
    }

    [Theory]
    [InlineData(null, "is empty.")]
    [InlineData("   ", "is empty.")]
    [InlineData("not a url", "is not an absolute URL.")]
    [InlineData("/relative/path", "has the scheme 'file'")]
    [InlineData("ftp://example.com/file", "has the scheme 'ftp'")]
    [InlineData("javascript:alert(1)", "has the scheme 'javascript'")]
    [InlineData("https://user:secret@example.com/", "contains credentials")]
    [InlineData("https://user@example.com/", "contains credentials")]
    [InlineData("http://example.com:0/", "has port 0")]
    [InlineData("http://exa mple.com/", "is not an absolute URL.")]
    [InlineData("http://example.com/\nx", "contains control characters.")]
    public void TryNormalise_InvalidUrl_ReturnsReason(string? raw, string reasonStart)
    {
        var reason = Normalise(raw, out _);

        Assert.NotNull(reason);
        Assert.StartsWith(reasonStart, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryNormalise_PortOutsideAllowList_ReturnsReason()
    {
        Assert.Null(Normalise("https://example.com/", out _, ports: [80, 443]));
        Assert.Equal("uses port 8080; allowed ports are 80, 443.", Normalise("http://example.com:8080/", out _, ports: [443, 80]));
    }

    [Fact]
    public void TryNormalise_TooLong_ReturnsReason()
    {
        var url = "https://example.com/" + new string('a', 100);

        Assert.Null(Normalise(url, out _, maxLength: url.Length));
        Assert.Equal($"is {url.Length} characters long; at most {url.Length - 1} are allowed.", Normalise(url, out _, maxLength: url.Length - 1));
    }

    [Fact]
    public void TryNormalise_LongerOnceEscaped_ReturnsReason()
    {
        var url = "https://example.com/" + new string('ä', 10);

        Assert.Equal("is 80 characters long once normalised; at most 40 are allowed.", Normalise(url, out _, maxLength: 40));
    }

    [Theory]
    [InlineData("https://example.com/a", "example.com")]
    [InlineData("http://example.com:8080", "example.com")]
    [InlineData("http://example.com:8080?q", "example.com")]
    [InlineData("http://[::1]:8080/x", "[::1]")]
    [InlineData("http://[::1]/x", "[::1]")]
    [InlineData("http://127.0.0.1:5000/", "127.0.0.1")]
    public void HostOf_CanonicalUrl_ReturnsHostWithoutPort(string url, string host) =>
        Assert.Equal(host, UrlNormaliser.HostOf(url).ToString());

    [Theory]
    [InlineData("https://Example.com:8443/a")]
    [InlineData("http://[::1]:8080/x")]
    [InlineData("https://BÜCHER.de/")]
    public void HostOf_AnyNormalisedUrl_MatchesUriHost(string raw)
    {
        Assert.Null(Normalise(raw, out var normalised));
        Assert.Equal(new Uri(normalised).Host, UrlNormaliser.HostOf(normalised).ToString());
    }

    [Theory]
    [InlineData("https://example.com/a")]
    [InlineData("http://example.com:8080?q")]
    [InlineData("http://[::1]:8080/x")]
    [InlineData("http://[::1]/x")]
    [InlineData("https://xn--bcher-kva.de/ä/ö?ü#x")]
    [InlineData("https://bücher.de:8080/")]
    [InlineData("no scheme at all")]
    public void HostOf_Utf8Bytes_SameHostAsTheDecodedString(string url) =>
        Assert.Equal(UrlNormaliser.HostOf(url).ToString(), System.Text.Encoding.UTF8.GetString(UrlNormaliser.HostOf(System.Text.Encoding.UTF8.GetBytes(url))));
}
