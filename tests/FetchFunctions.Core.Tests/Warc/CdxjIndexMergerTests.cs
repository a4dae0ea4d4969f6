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
    public async Task MergeAsync_NoParts_WritesNoIndex()
    {
        await using var host = await EngineHost.StartAsync();

        Assert.Equal(0, await CreateSut(host).MergeAsync("job-n", CancellationToken.None));
        Assert.False(await host.ExistsAsync(BlobNames.Index("job-n")));
    }

    private static CdxjIndexMerger CreateSut(EngineHost host, int fanIn = CdxjIndexMerger.FanIn) => new(host.Provider.GetRequiredService<JobStore>(), fanIn);
}
