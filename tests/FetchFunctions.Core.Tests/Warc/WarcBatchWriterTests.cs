using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Tests.Warc;

/// <summary>The batch writer behind the real engine, loopback pages and Azurite; what it writes is read back by warcio.js
/// and by the tests' own parser, digests recomputed here.</summary>
public sealed class WarcBatchWriterTests
{
    private static readonly DateTimeOffset AcceptedAt = new(2026, 12, 5, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task CommitAsync_FetchedPages_WarcioIndexAgreesWithOurIndex()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var writer = CreateSut(host.Container, "job-a");
        var results = await FetchAllAsync(host, writer, server, "/bytes/2000", "/chunked/5000", "/gzip/3000", "/redirect/2", "/site/x?b=2&a=1");
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        var fileName = Assert.Single(writer.FileNames);
        Assert.Equal("FETCHFN-20261205103000-000007-000.warc.gz", fileName);
        var ours = (await DownloadTextAsync(host.Container, BlobNames.IndexPart("job-a", 7))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ours.OrderBy(line => line, StringComparer.Ordinal), ours);
        // Four final pages and two redirect hops.
        Assert.Equal(7, ours.Length);

        var path = await SaveAsync(host.Container, "job-a", fileName);
        var theirs = (await Warcio.RunAsync("cdx-index", path)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ours.Length, theirs.Length);
        var theirsByOffset = theirs.Select(Cdxj.Parse).ToDictionary(line => line.Json["offset"]);
        foreach (var line in ours.Select(Cdxj.Parse))
        {
            var their = theirsByOffset[line.Json["offset"]];
            Assert.Equal(their.UrlKey, line.UrlKey);
            Assert.Equal(their.Timestamp, line.Timestamp);
            Assert.Equal(their.Json["url"], line.Json["url"]);
            Assert.Equal(their.Json["status"], line.Json["status"]);
            Assert.Equal(their.Json["length"], line.Json["length"]);
            Assert.Equal(their.Json.GetValueOrDefault("mime"), line.Json.GetValueOrDefault("mime"));
            Assert.Equal("sha1:" + their.Json["digest"], line.Json["digest"]);
            Assert.Equal(fileName, line.Json["filename"]);
        }

        Assert.All(results, result => Assert.Equal(fileName, result.WarcFile));
    }

    [Fact]
    public async Task CommitAsync_FetchedPages_DigestsAndRangesHoldExactlyTheirRecords()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var writer = CreateSut(host.Container, "job-b");
        var results = await FetchAllAsync(host, writer, server, "/bytes/2000", "/chunked/5000", "/gzip/3000");
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        var file = await WarcTestRecords.DownloadAsync(host.Container, BlobNames.WarcFolder("job-b") + writer.FileNames[0]);
        var records = WarcTestRecords.ParseAll(file);
        Assert.Equal("warcinfo", records[0].Type);
        Assert.Contains("format: WARC File Format 1.1", Encoding.ASCII.GetString(records[0].Block), StringComparison.Ordinal);
        foreach (var record in records.Where(record => record.Type is "request" or "response"))
        {
            Assert.Equal(TestRecord.Sha1Base32(record.Block), record["WARC-Block-Digest"]);
            Assert.Matches("^<urn:uuid:[0-9a-f-]{36}>$", record["WARC-Record-ID"]!);
            Assert.Equal("127.0.0.1", record["WARC-IP-Address"]);
            Assert.Matches("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$", record["WARC-Date"]!);
        }

        foreach (var response in records.Where(record => record.Type == "response"))
        {
            Assert.Equal(TestRecord.Sha1Base32(response.Payload), response["WARC-Payload-Digest"]);
            Assert.Equal(response.Payload.Length.ToString(CultureInfo.InvariantCulture), response.HttpHeader("Content-Length"));
            var request = Assert.Single(records, record => record["WARC-Record-ID"] == response["WARC-Concurrent-To"]);
            Assert.Equal("request", request.Type);
            Assert.StartsWith("GET " + new Uri(response["WARC-Target-URI"]!).PathAndQuery + " HTTP/1.1\r\n", request.HttpHead, StringComparison.Ordinal);
            Assert.Equal("FetchFunctions-Test", request.HttpHeader("User-Agent"));
        }

        var expected = new[] { TestContent.Bytes(1, 2000), TestContent.Bytes(2, 5000), LoopbackServer.CompressibleText(3000) };
        for (var i = 0; i < results.Length; i++)
        {
            var member = await WarcTestRecords.DownloadAsync(host.Container, BlobNames.WarcFolder("job-b") + results[i].WarcFile, results[i].WarcOffset, results[i].WarcLength);
            var record = WarcTestRecords.ParseOne(member);
            Assert.Equal("response", record.Type);
            Assert.Equal(expected[i], record.Payload);
            Assert.Equal(results[i].Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(record.Payload)));
        }
    }

    [Fact]
    public async Task StoreAsync_ChunkedAndGzipResponses_KeepOriginalHeadersAsCrawlerHeaders()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var writer = CreateSut(host.Container, "job-c");
        var results = await FetchAllAsync(host, writer, server, "/chunked/5000", "/gzip/3000", "/bytes/100");
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        var records = await ResponsesAsync(host.Container, "job-c", results);
        Assert.Equal("chunked", records[0].HttpHeader("X-Crawler-Transfer-Encoding"));
        Assert.Null(records[0].HttpHeader("Transfer-Encoding"));
        Assert.Equal("5000", records[0].HttpHeader("Content-Length"));
        Assert.Equal("gzip", records[1].HttpHeader("X-Crawler-Content-Encoding"));
        Assert.Null(records[1].HttpHeader("Content-Encoding"));
        Assert.Equal("3000", records[1].HttpHeader("Content-Length"));
        Assert.Equal("100", records[2].HttpHeader("X-Crawler-Content-Length"));
        Assert.Equal("100", records[2].HttpHeader("Content-Length"));
    }

    [Fact]
    public async Task RecordHopAsync_RedirectChain_OneResponseRecordPerHop()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var writer = CreateSut(host.Container, "job-d");
        var results = await FetchAllAsync(host, writer, server, "/redirect/2");
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        var file = await WarcTestRecords.DownloadAsync(host.Container, BlobNames.WarcFolder("job-d") + writer.FileNames[0]);
        var responses = WarcTestRecords.ParseAll(file).Where(record => record.Type == "response").ToList();
        Assert.Equal(["/redirect/2", "/redirect/1", "/redirect/0"], responses.Select(record => new Uri(record["WARC-Target-URI"]!).AbsolutePath));
        Assert.All(responses.Take(2), hop => Assert.StartsWith("HTTP/1.1 302", hop.HttpHead, StringComparison.Ordinal));
        Assert.All(responses.Take(2), hop => Assert.Empty(hop.Payload));
        Assert.Equal("end of chain"u8.ToArray(), responses[2].Payload);
        var final = WarcTestRecords.ParseOne(await WarcTestRecords.DownloadAsync(host.Container, BlobNames.WarcFolder("job-d") + results[0].WarcFile,
            results[0].WarcOffset, results[0].WarcLength));
        Assert.EndsWith("/redirect/0", final["WARC-Target-URI"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoreAsync_BodyPastTheByteCap_TruncatedRecordAndTooLarge()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var writer = CreateSut(host.Container, "job-e");
        var policy = host.DefaultPolicy with { MaxBodyBytes = 1000 };
        var results = new[]
        {
            await host.Engine.FetchAsync(new FetchRequest(server.Url("/chunked/5000"), "unused", policy, writer), CancellationToken.None),
            await host.Engine.FetchAsync(new FetchRequest(server.Url("/bytes/5000"), "unused", policy, writer), CancellationToken.None),
        };
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        var records = await ResponsesAsync(host.Container, "job-e", results);
        Assert.All(results, result => Assert.Equal(FetchErrorKind.TooLarge, result.ErrorKind));
        Assert.All(records, record => Assert.Equal("length", record["WARC-Truncated"]));
        Assert.Equal(TestContent.Bytes(2, 5000)[..1000], records[0].Payload);
        Assert.Equal(TestContent.Bytes(1, 5000)[..1000], records[1].Payload);
        Assert.All(records, record => Assert.Equal("1000", record.HttpHeader("Content-Length")));
    }

    [Fact]
    public async Task StoreAsync_StreamedBodies_BoundedBlocksAndExactPayload()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        // Small limits so that a 3 MiB body streams through many blocks: announced (Content-Length) and spooled (chunked).
        var writer = CreateSut(host.Container, "job-f", new WarcWriterLimits(1_000_000_000, BlockBytes: 256 * 1024, MaxBlocksInFlight: 2, MemoryRecordBytes: 64 * 1024));
        var results = await FetchAllAsync(host, writer, server, "/bytes/3145728", "/chunked/3145728", "/bytes/10");
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        // Per streamed record: its stagings in flight and the block filling, plus the file's coalescing block.
        Assert.InRange(writer.PeakBlocksHeld, 1, (2 + 1) * 2 + 1);
        var records = await ResponsesAsync(host.Container, "job-f", results);
        Assert.Equal(TestContent.Bytes(1, 3145728), records[0].Payload);
        Assert.Equal(TestContent.Bytes(2, 3145728), records[1].Payload);
        Assert.All(records, record => Assert.Equal(TestRecord.Sha1Base32(record.Block), record["WARC-Block-Digest"]));
        Assert.All(records, record => Assert.Equal(TestRecord.Sha1Base32(record.Payload), record["WARC-Payload-Digest"]));

        var path = await SaveAsync(host.Container, "job-f", writer.FileNames[0]);
        var theirs = (await Warcio.RunAsync("cdx-index", path)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Cdxj.Parse).ToList();
        Assert.Equal(results.Length, theirs.Count);
        Assert.All(results, result => Assert.Contains(theirs, line => line.Json["offset"] == result.WarcOffset!.Value.ToString(CultureInfo.InvariantCulture)
            && line.Json["length"] == result.WarcLength!.Value.ToString(CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task CommitAsync_PastTheFileSize_RollsOverToTheNextSerial()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var writer = CreateSut(host.Container, "job-g", new WarcWriterLimits(FileBytes: 6000));
        var results = await FetchAllAsync(host, writer, server, "/bytes/4000", "/bytes/4001", "/bytes/4002");
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        Assert.Equal(3, writer.FileNames.Count);
        Assert.Equal(writer.FileNames, results.Select(result => result.WarcFile));
        foreach (var name in writer.FileNames)
        {
            var records = WarcTestRecords.ParseAll(await WarcTestRecords.DownloadAsync(host.Container, BlobNames.WarcFolder("job-g") + name));
            Assert.Equal(["warcinfo", "request", "response"], records.Select(record => record.Type));
            Assert.Equal(name, records[0]["WARC-Filename"]);
        }
    }

    [Fact]
    public async Task CommitAsync_RerunWithFewerFiles_ReplacesTheEarlierAttempt()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var first = CreateSut(host.Container, "job-h", new WarcWriterLimits(FileBytes: 6000));
        await FetchAllAsync(host, first, server, "/bytes/4000", "/bytes/4001");
        await first.CommitAsync(CancellationToken.None);
        await first.DisposeAsync();

        var second = CreateSut(host.Container, "job-h", new WarcWriterLimits(FileBytes: 1_000_000));
        // A stale attempt of the same batch stages blocks concurrently and never commits: none of them may appear.
        var stale = CreateSut(host.Container, "job-h", new WarcWriterLimits(FileBytes: 1_000_000));
        await FetchAllAsync(host, stale, server, "/bytes/999");
        await FetchAllAsync(host, second, server, "/bytes/4000", "/bytes/4001");
        await second.CommitAsync(CancellationToken.None);
        await second.DisposeAsync();
        await stale.DisposeAsync();

        var names = new List<string>();
        await foreach (var blob in host.Container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, BlobNames.WarcFolder("job-h"), CancellationToken.None))
        {
            names.Add(blob.Name);
        }

        Assert.Equal([BlobNames.WarcFolder("job-h") + "FETCHFN-20261205103000-000007-000.warc.gz"], names);
        var records = WarcTestRecords.ParseAll(await WarcTestRecords.DownloadAsync(host.Container, names[0]));
        Assert.Equal(2, records.Count(record => record.Type == "response"));
        Assert.DoesNotContain(records, record => record["WARC-Target-URI"]?.EndsWith("/bytes/999", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task StoreAsync_SensitiveRequestHeaders_AreRedactedInTheRequestRecord()
    {
        var (host, server) = await StartAsync();
        await using var _ = host;
        var writer = CreateSut(host.Container, "job-i");
        var policy = host.DefaultPolicy with
        {
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer sekrit-1", ["X-Api-Key"] = "sekrit-2", ["X-Plain"] = "shown" },
        };
        var result = await host.Engine.FetchAsync(new FetchRequest(server.Url("/headers"), "unused", policy, writer), CancellationToken.None);
        Assert.True(result.WarcFile is not null, $"{result.ErrorKind} {result.Error}");
        await writer.CommitAsync(CancellationToken.None);
        await writer.DisposeAsync();

        var records = WarcTestRecords.ParseAll(await WarcTestRecords.DownloadAsync(host.Container, BlobNames.WarcFolder("job-i") + result.WarcFile));
        var request = Assert.Single(records, record => record.Type == "request");
        Assert.Equal("(redacted)", request.HttpHeader("Authorization"));
        Assert.Equal("(redacted)", request.HttpHeader("X-Api-Key"));
        Assert.Equal("shown", request.HttpHeader("X-Plain"));
        Assert.DoesNotContain("sekrit", request.HttpHead, StringComparison.Ordinal);
        // The site's echo proves they were sent.
        Assert.Contains("sekrit-1", Encoding.UTF8.GetString(Assert.Single(records, record => record.Type == "response").Payload), StringComparison.Ordinal);
    }

    internal static WarcBatchWriter CreateSut(BlobContainerClient container, string jobId, WarcWriterLimits? limits = null) =>
        new(container, new WarcBatch(jobId, AcceptedAt, 7, [new("software", "FetchFunctions test"), new("format", "WARC File Format 1.1")]),
            limits ?? new WarcWriterLimits(1_000_000_000));

    private static async Task<(EngineHost Host, LoopbackServer Server)> StartAsync() =>
        (await EngineHost.StartAsync(new Dictionary<string, string?> { ["Fetch:UserAgent"] = "FetchFunctions-Test" }), await LoopbackServer.Shared);

    private static async Task<FetchResult[]> FetchAllAsync(EngineHost host, WarcBatchWriter writer, LoopbackServer server, params string[] paths)
    {
        var results = new FetchResult[paths.Length];
        for (var i = 0; i < paths.Length; i++)
        {
            results[i] = await host.Engine.FetchAsync(new FetchRequest(server.Url(paths[i]), "unused", host.DefaultPolicy, writer), CancellationToken.None);
            Assert.True(results[i].WarcFile is not null, $"{paths[i]}: {results[i].ErrorKind} {results[i].Error}");
        }

        return results;
    }

    private static async Task<List<TestRecord>> ResponsesAsync(BlobContainerClient container, string jobId, IEnumerable<FetchResult> results)
    {
        var records = new List<TestRecord>();
        foreach (var result in results)
        {
            records.Add(WarcTestRecords.ParseOne(await WarcTestRecords.DownloadAsync(container, BlobNames.WarcFolder(jobId) + result.WarcFile, result.WarcOffset, result.WarcLength)));
        }

        return records;
    }

    private static async Task<string> DownloadTextAsync(BlobContainerClient container, string name) =>
        Encoding.UTF8.GetString(await WarcTestRecords.DownloadAsync(container, name));

    private static async Task<string> SaveAsync(BlobContainerClient container, string jobId, string fileName)
    {
        var folder = Directory.CreateTempSubdirectory("warc-test-");
        var path = Path.Combine(folder.FullName, fileName);
        await File.WriteAllBytesAsync(path, await WarcTestRecords.DownloadAsync(container, BlobNames.WarcFolder(jobId) + fileName));
        return path;
    }
}

/// <summary>A CDXJ line split into its three parts.</summary>
internal sealed record Cdxj(string UrlKey, string Timestamp, Dictionary<string, string> Json)
{
    public static Cdxj Parse(string line)
    {
        var parts = line.Split(' ', 3);
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(parts[2])!
            .ToDictionary(pair => pair.Key, pair => pair.Value.ValueKind == JsonValueKind.String ? pair.Value.GetString()! : pair.Value.ToString());
        return new Cdxj(parts[0], parts[1], json);
    }
}
