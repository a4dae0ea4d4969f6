using System.Globalization;
using System.Text;
using Azure.Storage.Blobs.Models;
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
    public async Task MergeAsync_NoParts_WritesNoIndex()
    {
        await using var host = await EngineHost.StartAsync();

        Assert.Equal(0, await CreateSut(host).MergeAsync("job-n", CancellationToken.None));
        Assert.False(await host.ExistsAsync(BlobNames.Index("job-n")));
    }

    private static CdxjIndexMerger CreateSut(EngineHost host, int fanIn = CdxjIndexMerger.FanIn) => new(host.Provider.GetRequiredService<JobStore>(), fanIn);
}
