using System.IO.Compression;
using System.Text;
using FetchFunctions.Core.Discovery;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class SitemapReaderTests
{
    private const string Ns = "http://www.sitemaps.org/schemas/sitemap/0.9";

    private static Task<SitemapDocument> CreateSutAndReadAsync(byte[] body) => SitemapReader.ReadAsync(new MemoryStream(body), CancellationToken.None);

    internal static string UrlSet(IEnumerable<string> urls) =>
        $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset xmlns=\"{Ns}\">{string.Concat(urls.Select(u => $"<url><loc> {u} </loc><lastmod>2024-01-01</lastmod></url>"))}</urlset>";

    internal static string Index(IEnumerable<string> sitemaps) =>
        $"<?xml version=\"1.0\"?><sitemapindex xmlns=\"{Ns}\">{string.Concat(sitemaps.Select(u => $"<sitemap><loc>{u}</loc></sitemap>"))}</sitemapindex>";

    internal static byte[] Gzip(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    [Fact]
    public async Task ReadAsync_UrlSet_ListsItsLocations()
    {
        var document = await CreateSutAndReadAsync(Encoding.UTF8.GetBytes(UrlSet(["https://a.example/1", "https://a.example/2?x=1&amp;y=2"])));

        Assert.Equal(new SitemapDocument(SitemapKind.UrlSet, document.Locations, false, null), document);
        Assert.Equal(["https://a.example/1", "https://a.example/2?x=1&y=2"], document.Locations);
    }

    [Fact]
    public async Task ReadAsync_Index_ListsItsSitemaps()
    {
        var document = await CreateSutAndReadAsync(Encoding.UTF8.GetBytes(Index(["https://a.example/s1.xml.gz"])));

        Assert.Equal(SitemapKind.Index, document.Kind);
        Assert.Equal(["https://a.example/s1.xml.gz"], document.Locations);
    }

    [Fact]
    public async Task ReadAsync_Gzipped_IsRecognisedByItsMagicBytes()
    {
        var document = await CreateSutAndReadAsync(Gzip(UrlSet(["https://a.example/z"])));

        Assert.Equal(["https://a.example/z"], document.Locations);
    }

    [Fact]
    public async Task ReadAsync_MoreThanTheProtocolsUrls_StopsAtTheLimit()
    {
        var urls = Enumerable.Range(0, SitemapReader.MaxLocations + 3).Select(i => $"https://a.example/{i}");

        var document = await CreateSutAndReadAsync(Gzip(UrlSet(urls)));

        Assert.Equal(SitemapReader.MaxLocations, document.Locations.Count);
        Assert.True(document.OverLimit);
    }

    [Fact]
    public async Task ReadAsync_OverTheByteLimitUncompressed_StopsThereKeepingWhatCameBefore()
    {
        // A gzip bomb in miniature: a URL, then padding that inflates past the limit inside one element.
        const int Limit = 64 * 1024;
        var text = $"<urlset xmlns=\"{Ns}\"><url><loc>https://a.example/first</loc></url><url><loc>{new string('x', 4 * Limit)}</loc></url></urlset>";

        var document = await SitemapReader.ReadAsync(new MemoryStream(Gzip(text)), Limit, CancellationToken.None);

        Assert.Equal(50L * 1024 * 1024, SitemapReader.MaxUncompressedBytes);
        Assert.Equal(["https://a.example/first"], document.Locations);
        Assert.True(document.OverLimit);
        Assert.Null(document.Problem);
    }

    [Fact]
    public async Task ReadAsync_ExactlyAtTheByteLimit_IsNotOverIt()
    {
        var bytes = Encoding.UTF8.GetBytes(UrlSet(["https://a.example/1"]));

        var document = await SitemapReader.ReadAsync(new MemoryStream(bytes), bytes.Length, CancellationToken.None);

        Assert.Equal((false, null), (document.OverLimit, document.Problem));
        Assert.Single(document.Locations);
    }

    [Fact]
    public async Task ReadAsync_Dtd_IsRefusedWithoutExpandingEntities()
    {
        const string Bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
            + "<urlset><url><loc>&lol2;</loc></url></urlset>";

        var document = await CreateSutAndReadAsync(Encoding.UTF8.GetBytes(Bomb));

        Assert.Empty(document.Locations);
        Assert.NotNull(document.Problem);
    }

    [Theory]
    [InlineData("<html><body>not a sitemap</body></html>")]
    [InlineData("User-agent: *")]
    [InlineData("")]
    public async Task ReadAsync_NotASitemap_IsKindNone(string text)
    {
        var document = await CreateSutAndReadAsync(Encoding.UTF8.GetBytes(text));

        Assert.Equal(SitemapKind.None, document.Kind);
        Assert.Empty(document.Locations);
    }

    [Fact]
    public async Task ReadAsync_BrokenHalfWay_KeepsWhatCameBefore()
    {
        var document = await CreateSutAndReadAsync(Encoding.UTF8.GetBytes($"<urlset xmlns=\"{Ns}\"><url><loc>https://a.example/1</loc></url><url><loc>https://a"));

        Assert.Equal(["https://a.example/1"], document.Locations);
        Assert.NotNull(document.Problem);
    }
}
