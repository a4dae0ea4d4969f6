using System.Globalization;
using System.Text;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Warc;

public sealed class CdxjIndexMergerTests
{
    [Theory]
    [InlineData(3, 64)]
    [InlineData(30, 4)]
    public async Task MergeAsync_SortedParts_OneByteSortedIndexAndNoLeftovers(int parts, int fanIn)
    {
        await using var host = await EngineHost.StartAsync();
        var sut = CreateSut(host, fanIn);
        var random = new Random(parts);
        var all = new List<string>();
        for (var part = 0; part < parts; part++)
        {
            // Keys that interleave across parts, with the bytes that sort differently by culture ('-' and ',' and case).
            var lines = Enumerable.Range(0, random.Next(0, 40))
                .Select(_ => string.Create(CultureInfo.InvariantCulture, $"com,example{"-,aB"[random.Next(4)]})/p{random.Next(1000)} 2026120{random.Next(10)}101010 {{\"url\":\"x\"}}"))
                .Order(StringComparer.Ordinal).ToList();
            all.AddRange(lines);
            await host.Container.GetBlobClient(BlobNames.IndexPart("job-m", part)).UploadAsync(BinaryData.FromString(string.Concat(lines.Select(l => l + "\n"))));
        }

        var written = await sut.MergeAsync("job-m", CancellationToken.None);

        var merged = Encoding.UTF8.GetString(await host.DownloadAsync(BlobNames.Index("job-m"))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(all.Order(StringComparer.Ordinal), merged);
        Assert.Equal(all.Count, written);
        await foreach (var leftover in host.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = "job-m/index-merge/" }))
        {
            Assert.Fail($"Left behind: {leftover.Name}");
        }
    }

    [Fact]
    public async Task MergeAsync_PartsLongerThanARange_LinesWholeAcrossRanges()
    {
        await using var host = await EngineHost.StartAsync();
        var sut = new CdxjIndexMerger(host.Provider.GetRequiredService<JobStore>(), fanIn: 2, rangeBudgetBytes: 0);
        var all = new List<string>();
        for (var part = 0; part < 3; part++)
        {
            // About 1 MB a part, read in ranges of the smallest size (64 KiB), so lines cross range boundaries.
            var lines = Enumerable.Range(0, 6_000)
                .Select(i => string.Create(CultureInfo.InvariantCulture, $"com,example)/p{i * 3 + part:D6}{new string('x', i % 300)} 20261206000000 {{}}"))
                .Order(StringComparer.Ordinal).ToList();
            all.AddRange(lines);
            await host.Container.GetBlobClient(BlobNames.IndexPart("job-l", part)).UploadAsync(BinaryData.FromString(string.Join("\r\n", lines)));
        }

        var written = await sut.MergeAsync("job-l", CancellationToken.None);

        var merged = Encoding.UTF8.GetString(await host.DownloadAsync(BlobNames.Index("job-l"))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(all.Order(StringComparer.Ordinal), merged);
        Assert.Equal(all.Count, written);
    }

    [Fact]
    public async Task MergeShardAsync_ShardOfBatches_MergesOnlyItsOwnParts()
    {
        await using var host = await EngineHost.StartAsync();
        var sut = CreateSut(host, fanIn: 4);
        // Batches 0-249; the shard runs 95-204 (across listing prefixes of 100), and batch 100,000's name begins like 1000-1009.
        var lines = await UploadPartsAsync(host, "job-s", [.. Enumerable.Range(0, 250), 100_000]);

        var written = await sut.MergeShardAsync(new ShardIndexWork("job-s", 3, 95, 110), CancellationToken.None);

        var expected = lines.Where(l => l.Batch is >= 95 and < 205).Select(l => l.Line).Order(StringComparer.Ordinal).ToList();
        var shardIndex = host.Container.GetBlobClient(BlobNames.ShardIndex("job-s", 3));
        Assert.Equal(expected, Encoding.UTF8.GetString(await host.DownloadAsync(shardIndex.Name)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(expected.Count, written);
        Assert.Equal(new Dictionary<string, string> { ["firstbatch"] = "95", ["batchcount"] = "110" }, (await shardIndex.GetPropertiesAsync()).Value.Metadata);
    }

    [Fact]
    public async Task MergeAsync_ShardIndexesAndUncoveredParts_EachLineOnce()
    {
        await using var host = await EngineHost.StartAsync();
        var sut = CreateSut(host, fanIn: 4);
        var lines = await UploadPartsAsync(host, "job-f", [.. Enumerable.Range(0, 30)]);
        await sut.MergeShardAsync(new ShardIndexWork("job-f", 0, 0, 10), CancellationToken.None);
        await sut.MergeShardAsync(new ShardIndexWork("job-f", 1, 10, 12), CancellationToken.None);

        // Batches 22-29 (a round run without shards) are merged from their parts; 0-21 only through their shard indexes.
        var written = await sut.MergeAsync("job-f", CancellationToken.None);

        var merged = Encoding.UTF8.GetString(await host.DownloadAsync(BlobNames.Index("job-f"))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Select(l => l.Line).Order(StringComparer.Ordinal), merged);
        Assert.Equal(lines.Count, written);
    }

    [Fact]
    public async Task MergeShardAsync_ShardWithoutParts_WritesNoShardIndex()
    {
        await using var host = await EngineHost.StartAsync();

        Assert.Equal(0, await CreateSut(host).MergeShardAsync(new ShardIndexWork("job-e", 1, 500, 500), CancellationToken.None));
        Assert.False(await host.ExistsAsync(BlobNames.ShardIndex("job-e", 1)));
    }

    [Fact]
    public async Task MergeAsync_NoParts_WritesNoIndex()
    {
        await using var host = await EngineHost.StartAsync();

        Assert.Equal(0, await CreateSut(host).MergeAsync("job-n", CancellationToken.None));
        Assert.False(await host.ExistsAsync(BlobNames.Index("job-n")));
    }

    /// <summary>Each batch's part: 3 sorted lines whose keys interleave with the other batches'.</summary>
    private static async Task<List<(int Batch, string Line)>> UploadPartsAsync(EngineHost host, string jobId, IReadOnlyList<int> batches)
    {
        var all = new List<(int Batch, string Line)>();
        foreach (var batch in batches)
        {
            var lines = Enumerable.Range(0, 3).Select(i => string.Create(CultureInfo.InvariantCulture, $"com,example)/p{i}-{batch:D6} 20261206000000 {{\"b\":{batch}}}"))
                .Order(StringComparer.Ordinal).ToList();
            all.AddRange(lines.Select(line => (batch, line)));
            await host.Container.GetBlobClient(BlobNames.IndexPart(jobId, batch)).UploadAsync(BinaryData.FromString(string.Concat(lines.Select(l => l + "\n"))));
        }

        return all;
    }

    private static CdxjIndexMerger CreateSut(EngineHost host, int fanIn = CdxjIndexMerger.FanIn) => new(host.Provider.GetRequiredService<JobStore>(), fanIn);
}
