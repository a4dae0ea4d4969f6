using System.IO.Compression;
using System.Text;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Warc;

public sealed class StoredPageReaderTests
{
    private static async Task<(EngineHost Host, IStoredPages Pages)> CreateSutAsync()
    {
        var host = await EngineHost.StartAsync();
        return (host, host.Provider.GetRequiredService<IStoredPages>());
    }

    private static byte[] Body(string url) => Encoding.UTF8.GetBytes($"<html><body>{url}</body></html>");

    private static async Task<byte[]> ReadAsync(StoredPage page)
    {
        await using (page)
        {
            using var copy = new MemoryStream();
            await page.Body.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    /// <summary>A job over three batches with <paramref name="pages"/> pages (enough to make the index several search
    /// windows long) plus a redirect, an unstored 404 and a failure in batch 1.</summary>
    private static TestWarc.Job LargeJob(string jobId, int pages, bool index)
    {
        var job = new TestWarc.Job(jobId);
        Func<string, string>? key = index ? Surt.Of : null;
        for (var i = 0; i < pages; i++)
        {
            var url = $"https://site{i % 37}.example/page/{i}?b=2&a=1";
            job.AddPage(i % 3, url, 200, Body(url), urlKey: key);
        }

        job.AddPage(1, "https://example.org/moved", 301, [], urlKey: key, row: false);
        job.AddPage(1, "https://example.org/target", 200, Body("target"), urlKey: key, rowUrl: "https://example.org/moved");
        job.AddPage(1, "https://example.org/gone", 404, [], urlKey: key, row: false);
        job.AddUnstored(1, "https://example.org/gone", 404);
        job.AddUnstored(1, "https://example.org/broken", null);
        return job;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenAsync_StoredWarcPage_StreamsItsPayloadWithTheStoredContentType(bool index)
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        await LargeJob("wj", 3000, index).UploadAsync(host.Container);
        if (index)
        {
            var size = (await host.Container.GetBlobClient("wj/index.cdxj").GetPropertiesAsync()).Value.ContentLength;
            Assert.True(size > 8 * CdxjIndex.ScanWindowBytes, $"the index ({size} bytes) is too small to be searched");
        }

        foreach (var i in new[] { 0, 1, 1499, 2998, 2999 })
        {
            var url = $"https://site{i % 37}.example/page/{i}?b=2&a=1";
            var lookup = await pages.OpenAsync("wj", url, decode: false, CancellationToken.None);

            Assert.Equal(StoredPageOutcome.Found, lookup.Outcome);
            Assert.Equal(200, lookup.Page!.Status);
            Assert.Equal("text/html", lookup.Page.ContentType);
            Assert.Equal(Body(url).Length, lookup.Page.Length);
            Assert.Equal(Body(url), await ReadAsync(lookup.Page));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenAsync_RedirectedUrl_GivesTheFinalResponsesBody(bool index)
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        await LargeJob("rj", 10, index).UploadAsync(host.Container);

        var moved = await pages.OpenAsync("rj", "https://EXAMPLE.org/moved#fragment", decode: false, CancellationToken.None);
        var target = await pages.OpenAsync("rj", "https://example.org/target", decode: false, CancellationToken.None);

        Assert.Equal(Body("target"), await ReadAsync(moved.Page!));
        Assert.Equal(Body("target"), await ReadAsync(target.Page!));
    }

    [Theory]
    [InlineData(true, "https://example.org/gone", "status 404 was not stored")]
    [InlineData(false, "https://example.org/gone", "status 404 was not stored")]
    [InlineData(true, "https://example.org/broken", "not in the job's index")]
    [InlineData(false, "https://example.org/broken", "fetch failed (Connect)")]
    [InlineData(true, "https://example.org/never", "not in the job's index")]
    [InlineData(false, "https://example.org/never", "not in the job's results")]
    [InlineData(true, "http://example.org/target", "not in the job's index")]
    public async Task OpenAsync_NoStoredBody_IsNotStoredWithTheReason(bool index, string url, string reason)
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        await LargeJob("nj", 10, index).UploadAsync(host.Container);

        var lookup = await pages.OpenAsync("nj", url, decode: false, CancellationToken.None);

        Assert.Equal(StoredPageOutcome.NotStored, lookup.Outcome);
        Assert.Null(lookup.Page);
        Assert.Contains(reason, lookup.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../other", "https://example.org/", StoredPageOutcome.InvalidJobId)]
    [InlineData("a/b", "https://example.org/", StoredPageOutcome.InvalidJobId)]
    [InlineData("job", "ftp://example.org/", StoredPageOutcome.InvalidUrl)]
    [InlineData("job", "/relative", StoredPageOutcome.InvalidUrl)]
    public async Task OpenAsync_BadInput_SaysWhichAndReadsNothing(string jobId, string url, StoredPageOutcome expected)
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;

        var lookup = await pages.OpenAsync(jobId, url, decode: false, CancellationToken.None);

        Assert.Equal(expected, lookup.Outcome);
        Assert.NotEmpty(lookup.Detail);
    }

    [Fact]
    public async Task OpenAsync_RowNamingAnotherJobsFile_IsRefused()
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        await host.Container.GetBlobClient("mine/results/000000.ndjson").UploadAsync(BinaryData.FromString(
            "{\"url\":\"https://example.org/\",\"host\":\"h\",\"status\":200,\"bytes\":1,\"attempts\":1,\"durationMs\":1,\"warcFile\":\"../../theirs/warc/x.warc.gz\",\"warcOffset\":0,\"warcLength\":10}\n"));

        await Assert.ThrowsAsync<InvalidDataException>(() => pages.OpenAsync("mine", "https://example.org/", decode: false, CancellationToken.None));
    }

    [Fact]
    public async Task OpenAsync_GzipEncodedPage_IsDecodedOnlyWhenAsked()
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        var plain = Body("zipped");
        using var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(plain);
        }

        var job = new TestWarc.Job("gj");
        job.AddPage(0, "https://example.org/z", 200, gz.ToArray(), headers: [("Content-Encoding", "gzip")], urlKey: Surt.Of);
        await job.UploadAsync(host.Container);

        var raw = await pages.OpenAsync("gj", "https://example.org/z", decode: false, CancellationToken.None);
        var decoded = await pages.OpenAsync("gj", "https://example.org/z", decode: true, CancellationToken.None);

        Assert.Equal("gzip", raw.Page!.ContentEncoding);
        Assert.Equal(gz.ToArray(), await ReadAsync(raw.Page));
        Assert.Null(decoded.Page!.ContentEncoding);
        Assert.Null(decoded.Page.Length);
        Assert.Equal(plain, await ReadAsync(decoded.Page));
    }

    [Fact]
    public async Task OpenAsync_BlobsStorePage_StreamsTheBodyBlob()
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        var url = new Uri("https://example.org/blob");
        await host.Container.GetBlobClient(BlobNames.Body("bj", url)).UploadAsync(new BinaryData(Body("blob")), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "text/html; charset=utf-8" },
            Metadata = new Dictionary<string, string> { ["status"] = "203" },
        });

        var lookup = await pages.OpenAsync("bj", url.AbsoluteUri, decode: true, CancellationToken.None);

        Assert.Equal(StoredPageOutcome.Found, lookup.Outcome);
        Assert.Equal(203, lookup.Page!.Status);
        Assert.Equal("text/html; charset=utf-8", lookup.Page.ContentType);
        Assert.Equal(Body("blob"), await ReadAsync(lookup.Page));
    }
}
