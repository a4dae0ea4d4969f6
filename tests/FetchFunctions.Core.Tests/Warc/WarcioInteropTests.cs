using System.Text;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Tests.Warc;

/// <summary>The reading side against warcio.js, which the project did not write: the same urlkeys, and records it wrote
/// read back at the offsets its own indexer gives.</summary>
public sealed class WarcioInteropTests
{
    [Fact]
    public async Task UrlKey_NormalisedUrls_AgreeWithWarcioJsGetSurt()
    {
        var urls = new[]
        {
            "https://example.org/", "http://www.example.org/a/b?z=1&a=2&m", "https://WWW2.Example.ORG:8443/Path/Upper?B=2&a=1",
            "http://127.0.0.1:8080/page?x=%2F", "https://www.example.co.uk/~user/index.html", "http://example.org/caf%C3%A9?q=a+b",
            "https://sub.www.example.org/", "http://[::1]:9000/v6",
        }.Select(url => UrlNormaliser.TryNormalise(url, 2048, [], out var normalised) is null ? normalised : throw new InvalidOperationException(url)).ToArray();

        var theirs = (await WarcioJs.RunAsync(["surt", .. urls])).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(theirs, urls.Select(Surt.Of));
    }

    [Fact]
    public async Task ReadAsync_RecordsWrittenByWarcioJs_ReadBackAtTheOffsetsItsIndexerGives()
    {
        var file = Path.Combine(Path.GetTempPath(), $"warcio-{Guid.NewGuid():N}.warc.gz");
        try
        {
            await WarcioJs.RunAsync("write", file, "https://example.org/one", "text/html", "<p>one</p>", "https://example.org/two", "text/plain", new string('2', 70_000));
            var index = (await WarcioJs.CliAsync("cdx-index", file, "--format", "cdxj")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CdxjEntry.Parse).ToList();
            var bytes = await File.ReadAllBytesAsync(file);

            Assert.Equal(["https://example.org/one", "https://example.org/two"], index.Select(e => e.Url));
            foreach (var (entry, payload, type) in index.Zip(["<p>one</p>", new string('2', 70_000)], ["text/html", "text/plain"]))
            {
                await using var record = await WarcRecordReader.ReadAsync(new MemoryStream(bytes, (int)entry.Offset!, (int)entry.Length!), CancellationToken.None);
                var http = await record.ReadHttpAsync(CancellationToken.None);
                using var body = new MemoryStream();
                await http.Payload.CopyToAsync(body);

                Assert.Equal(entry.Url, record.TargetUri);
                Assert.Equal(200, http.Status);
                Assert.Equal(type, http.Header("Content-Type"));
                Assert.Equal(payload, Encoding.UTF8.GetString(body.ToArray()));
            }
        }
        finally
        {
            File.Delete(file);
        }
    }
}
