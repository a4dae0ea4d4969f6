using System.Text;
using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class PageLinkCaptureTests
{
    private static readonly DiscoverySettings Discovery = new()
    {
        MaxDepth = 2, MaxPages = 100, Scope = ScopeKind.Host, FollowSitemaps = false, RespectNofollow = true,
    };

    private static async Task<(EngineHost Host, JobStore Store, LinkLogWriter Log, string BlobName)> CreateLogAsync()
    {
        var host = await EngineHost.StartAsync();
        var store = host.Provider.GetRequiredService<JobStore>();
        var blobName = FrontierBlobNames.Links("capture-job", 0);
        return (host, store, new LinkLogWriter(store.CreateTextWriter(blobName)), blobName);
    }

    private static PageLinkCapture CreateSut(LinkLogWriter log, int pageDepth = 0, int parseBytes = 1024) =>
        new(new HtmlLinkExtractor(2048, []), log, Discovery, pageDepth, parseBytes, 2048, []);

    private static async Task<List<string>> ReadLogAsync(JobStore store, string blobName)
    {
        var lines = new List<string>();
        await foreach (var line in store.ReadLinesAsync(blobName, CancellationToken.None))
        {
            lines.Add(line);
        }

        return lines;
    }

    private static async Task StreamBodyAsync(PageLinkCapture sut, string html, int status = 200, string contentType = "text/html")
    {
        await using var body = sut.Wrap(new MemoryStream(Encoding.UTF8.GetBytes(html)), status, contentType);
        await body.CopyToAsync(Stream.Null);
    }

    [Fact]
    public async Task CompleteAsync_HtmlPageStreamedThrough_LogsItsLinksAndItsRedirect()
    {
        var (host, store, log, blobName) = await CreateLogAsync();
        await using var _ = host;
        using (log)
        using (var sut = CreateSut(log, pageDepth: 1))
        {
            // The first body attempt broke off; the second is read whole, and only it counts.
            await StreamBodyAsync(sut, "<a href=\"/stale\">");
            await StreamBodyAsync(sut, "<a href=\"b\" rel=\"nofollow\"><a href=\"https://off.example/\">");
            await sut.CompleteAsync("http://site.example/old", new Uri("http://site.example/new/"), "text/html", ["noarchive"], CancellationToken.None);
            await log.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(["@1\t0\t0\thttp://site.example/old\thttp://site.example/new/", "-http://site.example/new/b", "+https://off.example/"],
            await ReadLogAsync(store, blobName));
    }

    [Theory]
    [InlineData(200, "image/png", 0)]
    [InlineData(404, "text/html", 0)]
    [InlineData(200, "text/html", 2)]
    public async Task Wrap_PageWhoseLinksAreNotRead_PassesTheBodyOnUnwrappedAndLogsNothing(int status, string contentType, int pageDepth)
    {
        var (host, store, log, blobName) = await CreateLogAsync();
        await using var _ = host;
        using (log)
        using (var sut = CreateSut(log, pageDepth))
        {
            var body = new MemoryStream(Encoding.UTF8.GetBytes("<a href=\"/x\">"));

            Assert.Same(body, sut.Wrap(body, status, contentType));
            await sut.CompleteAsync("http://site.example/p", new Uri("http://site.example/p"), contentType, null, CancellationToken.None);
            await log.CommitAsync(CancellationToken.None);
        }

        Assert.Empty(await ReadLogAsync(store, blobName));
    }

    [Fact]
    public async Task CompleteAsync_PageLongerThanTheParseCap_ReadsLinksFromTheCapOnly()
    {
        var (host, store, log, blobName) = await CreateLogAsync();
        await using var _ = host;
        using (log)
        using (var sut = CreateSut(log, parseBytes: 1024))
        {
            await StreamBodyAsync(sut, "<a href=\"/early\">" + new string(' ', 2000) + "<a href=\"/late\">");
            await sut.CompleteAsync("http://site.example/", new Uri("http://site.example/"), "text/html", null, CancellationToken.None);
            await log.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(["@0\t0\t0\thttp://site.example/\t-", "+http://site.example/early"], await ReadLogAsync(store, blobName));
    }
}
