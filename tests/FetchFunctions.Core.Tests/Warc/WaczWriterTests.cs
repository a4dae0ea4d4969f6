using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Warc;

public sealed class WaczWriterTests
{
    private static async Task<(EngineHost Host, IStoredPages Pages)> CreateSutAsync()
    {
        var host = await EngineHost.StartAsync();
        return (host, host.Provider.GetRequiredService<IStoredPages>());
    }

    private static string Url(int i) => $"https://site{i % 5}.example/p/{i}";

    private static TestWarc.Job WarcJob(string jobId)
    {
        var job = new TestWarc.Job(jobId);
        for (var i = 0; i < 30; i++)
        {
            job.AddPage(i % 3, Url(i), 200, Encoding.UTF8.GetBytes($"<title>{i}</title>" + new string('x', i * 100)), urlKey: Surt.Of);
        }

        job.AddPage(1, "https://example.org/moved", 301, [], urlKey: Surt.Of, row: false);
        job.AddPage(2, "https://example.org/gone", 404, "gone"u8.ToArray(), urlKey: Surt.Of);
        return job;
    }

    /// <summary>Name and compression method of every entry, from the zip's central directory (APPNOTE 4.3.12).</summary>
    private static List<(string Name, int Method)> CentralDirectory(byte[] zip)
    {
        var end = zip.AsSpan().LastIndexOf([(byte)0x50, (byte)0x4b, (byte)0x05, (byte)0x06]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(end + 10));
        var at = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16));
        var entries = new List<(string, int)>();
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(0x02014b50u, BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at)));
            var method = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(at + 10));
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(at + 28));
            var extra = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(at + 30));
            var comment = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(at + 32));
            entries.Add((Encoding.UTF8.GetString(zip, at + 46, nameLength), method));
            at += 46 + nameLength + extra + comment;
        }

        return entries;
    }

    private static byte[] Entry(ZipArchive zip, string name)
    {
        using var stream = zip.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task ExportWaczAsync_WarcJob_WritesStoredWarcsHashedResourcesPagesAndAnIndexThatPointsAtItsRecords()
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        await WarcJob("wz").UploadAsync(host.Container);
        var file = Path.Combine(Path.GetTempPath(), $"wz-{Guid.NewGuid():N}.wacz");
        var folder = Directory.CreateTempSubdirectory("wacz-");

        try
        {
            WaczExport export;
            await using (var target = File.Create(file))
            {
                export = await pages.ExportWaczAsync("wz", target, CancellationToken.None);
            }

            Assert.Equal(new WaczExport(WaczOutcome.Written, string.Empty, 3, 30, export.Bytes), export);
            var bytes = await File.ReadAllBytesAsync(file);
            var directory = CentralDirectory(bytes);
            Assert.Equal([("archive/" + TestWarc.Job.FileName(0), 0), ("archive/" + TestWarc.Job.FileName(1), 0), ("archive/" + TestWarc.Job.FileName(2), 0)],
                directory.Where(e => e.Name.StartsWith("archive/", StringComparison.Ordinal)));

            using var zip = ZipFile.OpenRead(file);
            using var package = JsonDocument.Parse(Entry(zip, "datapackage.json"));
            Assert.Equal("data-package", package.RootElement.GetProperty("profile").GetString());
            Assert.Equal("1.1.1", package.RootElement.GetProperty("wacz_version").GetString());
            var resources = package.RootElement.GetProperty("resources").EnumerateArray().ToList();
            Assert.Equal(directory.Select(e => e.Name).Where(n => n != "datapackage.json"), resources.Select(r => r.GetProperty("path").GetString()));
            foreach (var resource in resources)
            {
                var content = Entry(zip, resource.GetProperty("path").GetString()!);
                Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)), resource.GetProperty("hash").GetString());
                Assert.Equal(content.Length, resource.GetProperty("bytes").GetInt64());
            }

            var pageLines = Encoding.UTF8.GetString(Entry(zip, "pages/pages.jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("{\"format\":\"json-pages-1.0\",\"id\":\"pages\",\"title\":\"All Pages\"}", pageLines[0]);
            Assert.Equal(Enumerable.Range(0, 30).Select(Url).Order(StringComparer.Ordinal),
                pageLines.Skip(1).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("url").GetString()!).Order(StringComparer.Ordinal));
            Assert.All(pageLines.Skip(1), l => Assert.Equal("2026-12-05T12:00:00Z", JsonDocument.Parse(l).RootElement.GetProperty("ts").GetString()));

            // Every index line is range-read back to its record, with our reader and with warcio.js.
            var index = Encoding.UTF8.GetString(Entry(zip, "indexes/index.cdxj")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CdxjEntry.Parse).ToList();
            Assert.Equal(32, index.Count);
            foreach (var entry in index)
            {
                var warc = Entry(zip, "archive/" + entry.Filename);
                var record = await WarcRecordReader.ReadAsync(new MemoryStream(warc, (int)entry.Offset!, (int)entry.Length!), CancellationToken.None);
                var http = await record.ReadHttpAsync(CancellationToken.None);
                Assert.Equal(entry.Url, record.TargetUri);
                Assert.Equal(entry.Status, http.Status);
            }

            foreach (var name in directory.Select(e => e.Name).Where(n => n.StartsWith("archive/", StringComparison.Ordinal)))
            {
                var path = Path.Combine(folder.FullName, Path.GetFileName(name));
                await File.WriteAllBytesAsync(path, Entry(zip, name));
                var theirs = (await WarcioJs.CliAsync("cdx-index", path, "--format", "cdxj")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(CdxjEntry.Parse)
                    .Select(e => (e.UrlKey, e.Url, e.Status, e.Offset, e.Length)).Order();
                var ours = index.Where(e => e.Filename == Path.GetFileName(name)).Select(e => (e.UrlKey, e.Url, e.Status, e.Offset, e.Length)).Order();
                Assert.Equal(ours, theirs);
            }
        }
        finally
        {
            File.Delete(file);
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ExportWaczAsync_JobWithoutWarcFilesOrIndexOrAtAll_WritesNothingAndSaysWhy()
    {
        var (host, pages) = await CreateSutAsync();
        await using var _ = host;
        await host.Container.GetBlobClient("blobs/job.json").UploadAsync(BinaryData.FromString("{}"));
        await host.Container.GetBlobClient("blobs/bodies/0000").UploadAsync(BinaryData.FromString("body"));
        var running = WarcJob("running");
        await running.UploadAsync(host.Container);
        await host.Container.DeleteBlobAsync("running/index.cdxj");
        using var target = new MemoryStream();

        var blobs = await pages.ExportWaczAsync("blobs", target, CancellationToken.None);
        var unfinished = await pages.ExportWaczAsync("running", target, CancellationToken.None);
        var unknown = await pages.ExportWaczAsync("nobody", target, CancellationToken.None);
        var invalid = await pages.ExportWaczAsync("../blobs", target, CancellationToken.None);

        Assert.Equal(WaczOutcome.NotWarc, blobs.Outcome);
        Assert.Contains("blobs store", blobs.Detail, StringComparison.Ordinal);
        Assert.Equal(WaczOutcome.NotWarc, unfinished.Outcome);
        Assert.Contains("no index yet", unfinished.Detail, StringComparison.Ordinal);
        Assert.Equal(WaczOutcome.NoSuchJob, unknown.Outcome);
        Assert.Equal(WaczOutcome.InvalidJobId, invalid.Outcome);
        Assert.Equal(0, target.Length);
    }
}
