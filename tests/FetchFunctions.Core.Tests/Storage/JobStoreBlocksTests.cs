using System.Text;
using Azure;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Storage;

/// <summary>The byte-level reading and writing the planner uses: line blocks by range, staged blocks of bytes, manifests
/// built in place.</summary>
public sealed class JobStoreBlocksTests
{
    private static async Task<(JobStore Sut, EngineHost Host)> CreateSutAsync()
    {
        var host = await EngineHost.StartAsync();
        return (host.Provider.GetRequiredService<JobStore>(), host);
    }

    private static async Task<List<string>> ReadLinesAsync(JobStore sut, string blobName, int blockBytes, int readAhead, ETag? version = null)
    {
        var lines = new List<string>();
        await foreach (var block in sut.ReadLineBlocksAsync(blobName, version, blockBytes, readAhead, CancellationToken.None))
        {
            // Every block ends at a line break or at the blob's end: no line is split between two.
            foreach (var line in new Utf8Lines(block.Span))
            {
                lines.Add(Encoding.UTF8.GetString(line));
            }
        }

        return lines;
    }

    private static string Number(int i) => i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(1, 0)]
    [InlineData(7, 1)]
    [InlineData(64, 2)]
    [InlineData(1 << 20, 2)]
    public async Task ReadLineBlocksAsync_AnyBlockSize_TheBlobsNonEmptyLinesInOrder(int blockBytes, int readAhead)
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var lines = Enumerable.Range(0, 500).Select(i => $"https://h{i % 9}.example/{new string('ä', i % 40)}/{i}").ToList();
        var text = string.Join("\n", lines.Take(200)) + "\r\n\r\n" + string.Join("\r\n", lines.Skip(200)) + "\n";
        await host.Container.GetBlobClient("lines.txt").UploadAsync(BinaryData.FromString(text));

        Assert.Equal(lines, await ReadLinesAsync(sut, "lines.txt", blockBytes, readAhead));
    }

    [Fact]
    public async Task ReadLineBlocksAsync_ByteOrderMarkAndNoFinalBreak_MarkSkippedLastLineKept()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        await host.Container.GetBlobClient("bom.txt").UploadAsync(new BinaryData([0xEF, 0xBB, 0xBF, .. "a\nbb\nccc"u8]));

        Assert.Equal(["a", "bb", "ccc"], await ReadLinesAsync(sut, "bom.txt", 2, 1));
    }

    [Fact]
    public async Task ReadLineBlocksAsync_EmptyBlob_NoLines()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        await host.Container.GetBlobClient("empty.txt").UploadAsync(BinaryData.FromString(""));

        Assert.Empty(await ReadLinesAsync(sut, "empty.txt", 16, 2));
    }

    [Fact]
    public async Task ReadLineBlocksAsync_BlobReplacedAfterItsVersionWasTaken_Fails()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var blob = host.Container.GetBlobClient("list.txt");
        await blob.UploadAsync(BinaryData.FromString("a\nb\n"));
        var version = await sut.VersionOfAsync("list.txt", CancellationToken.None);
        var first = await ReadLinesAsync(sut, "list.txt", 16, 1, version);
        await blob.UploadAsync(BinaryData.FromString("a\nb\nc\n"), overwrite: true);

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => ReadLinesAsync(sut, "list.txt", 16, 1, version));

        Assert.Equal(["a", "b"], first);
        Assert.Equal(412, failure.Status);
    }

    [Fact]
    public async Task ReadLineBlocksAsync_StoppedEarly_StopsWithoutError()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        await host.Container.GetBlobClient("long.txt").UploadAsync(BinaryData.FromString(string.Join("\n", Enumerable.Range(0, 10_000))));

        var blocks = 0;
        await foreach (var block in sut.ReadLineBlocksAsync("long.txt", null, 100, 3, CancellationToken.None))
        {
            if (++blocks == 2)
            {
                break;
            }
        }

        Assert.Equal(2, blocks);
    }

    [Fact]
    public async Task StagedBlobWriter_BlocksStagedWhileAppending_CommittedInOrderAndInvisibleBefore()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var expected = new StringBuilder();
        var uploads = new List<Task>();
        using var writer = sut.CreateBlobWriter("staged.txt", 100);
        for (var i = 0; i < 1000; i++)
        {
            var head = Encoding.UTF8.GetBytes($"{i:D4}");
            var body = Encoding.UTF8.GetBytes(new string('ü', i % 30));
            expected.Append(Number(i)).Append(new string('ü', i % 30)).Append('\n');
            if (writer.Append(head, body))
            {
                uploads.Add(writer.StageAsync(CancellationToken.None));
            }
        }

        await Task.WhenAll(uploads);
        var visibleBefore = await host.ExistsAsync("staged.txt");
        await writer.CommitAsync(JobStore.TextContentType, CancellationToken.None);

        Assert.False(visibleBefore);
        Assert.True(uploads.Count > 10);
        Assert.Equal(expected.ToString(), Encoding.UTF8.GetString(await host.DownloadAsync("staged.txt")));
    }

    [Fact]
    public async Task WriteShardManifestAsync_BuiltInPlace_EachBatchReadBack()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var batches = Enumerable.Range(0, 5).Select(b => Enumerable.Range(0, b * 3).Select(i => $"https://h{b}.example/ä{i}").ToList()).ToList();
        using (var manifest = new ShardManifestBuffer(batches.Count, 16))
        {
            foreach (var batch in batches)
            {
                manifest.StartBatch();
                foreach (var url in batch)
                {
                    manifest.AddUrl(Encoding.UTF8.GetBytes(url));
                }
            }

            await sut.WriteShardManifestAsync("job-m", 1, 5, manifest, "plan-1", CancellationToken.None);
        }

        for (var b = 0; b < batches.Count; b++)
        {
            var read = await sut.ReadBatchManifestAsync("job-m", 5 + b, 5, "plan-1", CancellationToken.None);
            Assert.Equal(batches[b], read.Urls);
        }
    }
}
