using System.IO.Compression;
using System.Text;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Tests.Warc;

public sealed class WarcRecordReaderTests
{
    private static readonly byte[] Page = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<p>stored page</p>\n", 500)));

    private static async Task<(HttpResponseRecord Http, WarcRecord Record)> CreateSutAsync(byte[] member)
    {
        var record = await WarcRecordReader.ReadAsync(new MemoryStream(member), CancellationToken.None);
        return (await record.ReadHttpAsync(CancellationToken.None), record);
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static byte[] Compress(byte[] data, Func<Stream, Stream> encoder)
    {
        using var output = new MemoryStream();
        using (var stream = encoder(output))
        {
            stream.Write(data);
        }

        return output.ToArray();
    }

    [Fact]
    public async Task ReadAsync_ResponseRecord_ExposesHeadStatusHeadersAndPayload()
    {
        var member = TestWarc.ResponseMember("https://example.org/a", 200, [("Content-Type", "text/html; charset=utf-8"), ("X-Crawler-Transfer-Encoding", "chunked")], Page);

        var (http, record) = await CreateSutAsync(member);

        Assert.Equal("WARC/1.1", record.Version);
        Assert.Equal("response", record.Type);
        Assert.Equal("https://example.org/a", record.TargetUri);
        Assert.Equal(200, http.Status);
        Assert.Equal("text/html; charset=utf-8", http.Header("content-type"));
        Assert.Equal(Page, await ReadAllAsync(http.Payload));
    }

    [Fact]
    public async Task ReadAsync_MemberFollowedByAnother_StopsAtTheRecordsContentLength()
    {
        var first = TestWarc.ResponseMember("https://example.org/1", 200, [], "first"u8.ToArray());
        var second = TestWarc.ResponseMember("https://example.org/2", 200, [], "second"u8.ToArray());

        var (http, _) = await CreateSutAsync([.. first, .. second]);

        Assert.Equal("first"u8.ToArray(), await ReadAllAsync(http.Payload));
    }

    [Fact]
    public async Task ReadHttpAsync_ChunkedTransferEncoding_IsUndone()
    {
        var member = TestWarc.ResponseMember("https://example.org/c", 200, [("Transfer-Encoding", "chunked")], TestWarc.Chunked(Page, 777));

        var (http, _) = await CreateSutAsync(member);

        Assert.Equal(Page, await ReadAllAsync(http.Payload));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("x-gzip")]
    [InlineData("deflate")]
    [InlineData("deflate-raw")]
    [InlineData("br")]
    public async Task OpenPayload_Decode_UndoesTheStoredContentEncoding(string coding)
    {
        var encoded = coding switch
        {
            "gzip" or "x-gzip" => Compress(Page, s => new GZipStream(s, CompressionLevel.Fastest)),
            "deflate" => Compress(Page, s => new ZLibStream(s, CompressionLevel.Fastest)),
            "deflate-raw" => Compress(Page, s => new DeflateStream(s, CompressionLevel.Fastest)),
            _ => Compress(Page, s => new BrotliStream(s, CompressionLevel.Fastest)),
        };
        var header = coding == "deflate-raw" ? "deflate" : coding;
        var member = TestWarc.ResponseMember("https://example.org/z", 200, [("Content-Encoding", header), ("Transfer-Encoding", "chunked")], TestWarc.Chunked(encoded, 100));

        var (http, _) = await CreateSutAsync(member);
        var (body, remaining) = http.OpenPayload(decode: true);

        Assert.Null(remaining);
        Assert.Equal(Page, await ReadAllAsync(body));
    }

    [Fact]
    public async Task OpenPayload_NoDecode_KeepsTheEncodedBytesAndNamesTheEncoding()
    {
        var encoded = Compress(Page, s => new GZipStream(s, CompressionLevel.Fastest));
        var member = TestWarc.ResponseMember("https://example.org/z", 200, [("Content-Encoding", "gzip")], encoded);

        var (http, _) = await CreateSutAsync(member);
        var (body, remaining) = http.OpenPayload(decode: false);

        Assert.Equal("gzip", remaining);
        Assert.Equal(encoded, await ReadAllAsync(body));
    }

    [Fact]
    public async Task OpenPayload_UnknownEncoding_IsLeftAndNamed()
    {
        var member = TestWarc.ResponseMember("https://example.org/z", 200, [("Content-Encoding", "zstd")], "opaque"u8.ToArray());

        var (http, _) = await CreateSutAsync(member);
        var (body, remaining) = http.OpenPayload(decode: true);

        Assert.Equal("zstd", remaining);
        Assert.Equal("opaque"u8.ToArray(), await ReadAllAsync(body));
    }

    [Fact]
    public async Task ReadAsync_LargePayload_IsStreamedInPieces()
    {
        // 8 MiB through a 4 KiB read buffer: the payload is read as it is inflated, not first gathered.
        var big = new byte[8 * 1024 * 1024];
        new Random(7).NextBytes(big);
        var member = TestWarc.ResponseMember("https://example.org/big", 200, [], big);
        var (http, _) = await CreateSutAsync(member);

        var buffer = new byte[4096];
        var reads = 0;
        long total = 0;
        int read;
        while ((read = await http.Payload.ReadAsync(buffer)) > 0)
        {
            Assert.Equal(big.AsSpan((int)total, read).ToArray(), buffer.AsSpan(0, read).ToArray());
            total += read;
            reads++;
        }

        Assert.Equal(big.Length, total);
        Assert.True(reads >= big.Length / buffer.Length);
    }

    [Fact]
    public async Task ReadAsync_EndlessHeaderLine_FailsWithinTheBound()
    {
        // A gigabyte-long "header line" compresses to about a megabyte; the reader must give up after 64 KiB of it.
        var head = "WARC/1.1\r\nWARC-Type: response\r\nX-Long: "u8.ToArray();
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(head);
            var filler = Enumerable.Repeat((byte)'a', 1024 * 1024).ToArray();
            for (var i = 0; i < 1024; i++)
            {
                gzip.Write(filler);
            }
        }

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => WarcRecordReader.ReadAsync(new MemoryStream(output.ToArray()), CancellationToken.None));

        Assert.Contains("longer", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a warc\r\n\r\n", "Not a WARC record")]
    [InlineData("WARC/1.1\r\nWARC-Type: response\r\n\r\n", "no Content-Length")]
    [InlineData("WARC/1.1\r\nContent-Length: x\r\n\r\n", "not a number")]
    [InlineData("WARC/1.1\r\nContent-Length: 5\r\n", "ends inside its headers")]
    [InlineData("WARC/1.1\r\nno colon here\r\n\r\n", "has no name")]
    public async Task ReadAsync_CorruptHead_FailsWithAClearError(string text, string expected)
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => WarcRecordReader.ReadAsync(new MemoryStream(TestWarc.Gzip(Encoding.ASCII.GetBytes(text))), CancellationToken.None));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NotGzip_Fails()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => WarcRecordReader.ReadAsync(new MemoryStream("WARC/1.1\r\n"u8.ToArray()), CancellationToken.None));
    }

    [Fact]
    public async Task Payload_BlockShorterThanContentLength_FailsInsteadOfEndingQuietly()
    {
        var record = TestWarc.Record("response", "https://example.org/t", "application/http;msgtype=response", TestWarc.HttpResponse(200, [], Page));
        var cut = TestWarc.Gzip(record.AsSpan(0, record.Length - 500).ToArray());
        var (http, _) = await CreateSutAsync(cut);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(http.Payload));

        Assert.Contains("before its Content-Length", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zz\r\nabc\r\n0\r\n\r\n", "not hexadecimal")]
    [InlineData("10\r\nabc", "ends inside a chunk")]
    [InlineData("3\r\nabcXY0\r\n\r\n", "longer")]
    [InlineData("3\r\nabc\r\n", "before its last chunk")]
    public async Task Payload_CorruptChunking_FailsWithAClearError(string chunked, string expected)
    {
        var member = TestWarc.ResponseMember("https://example.org/c", 200, [("Transfer-Encoding", "chunked")], Encoding.ASCII.GetBytes(chunked));
        var (http, _) = await CreateSutAsync(member);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(http.Payload));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadHttpAsync_RequestRecord_IsRefused()
    {
        var member = TestWarc.Gzip(TestWarc.Record("request", "https://example.org/", "application/http;msgtype=request", "GET / HTTP/1.1\r\n\r\n"u8.ToArray()));
        var record = await WarcRecordReader.ReadAsync(new MemoryStream(member), CancellationToken.None);

        await Assert.ThrowsAsync<InvalidDataException>(() => record.ReadHttpAsync(CancellationToken.None));
    }
}
