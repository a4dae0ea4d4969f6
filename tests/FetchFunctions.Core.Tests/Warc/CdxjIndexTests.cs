using System.Globalization;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Tests.Warc;

public sealed class CdxjIndexTests
{
    /// <summary>An index of <paramref name="keys"/> keys, key i held twice when i is a multiple of 7, each line padded to
    /// a varying length so probes land in every part of a line; one very long line in the middle.</summary>
    private static async Task<(EngineHost Host, CdxjIndex Index)> CreateSutAsync(int keys)
    {
        var host = await EngineHost.StartAsync();
        var lines = new List<string>();
        for (var i = 0; i < keys; i++)
        {
            var key = Key(i);
            var copies = i % 7 == 0 ? 2 : 1;
            for (var c = 0; c < copies; c++)
            {
                var padding = new string('x', i == keys / 2 ? 20_000 : (i * 31) % 400);
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{key} 2026120512000{c} {{\"url\":\"https://k{i:D6}.example/\",\"status\":\"200\",\"offset\":\"{i}\",\"length\":\"{c + 1}\",\"filename\":\"f.warc.gz\",\"pad\":\"{padding}\"}}"));
            }
        }

        lines.Sort(StringComparer.Ordinal);
        var blob = host.Container.GetBlobClient("j/index.cdxj");
        await blob.UploadAsync(BinaryData.FromString(string.Join('\n', lines) + "\n"));
        return (host, new CdxjIndex(blob));
    }

    private static string Key(int i) => string.Create(CultureInfo.InvariantCulture, $"example,k{i:D6})/");

    [Fact]
    public async Task FindAsync_EveryKindOfKey_FindsExactlyTheLinesAStreamedScanFinds()
    {
        var (host, index) = await CreateSutAsync(4000);
        await using var _ = host;
        var probes = new[] { Key(0), Key(1), Key(7), Key(1999), Key(2000), Key(2001), Key(3997), Key(3999), "a", "example,k001000", "example,k001000)/x", "zzz" };

        foreach (var key in probes)
        {
            var searched = await index.FindAsync(key, CancellationToken.None);
            var scanned = await index.FindAsync(key, CancellationToken.None, binarySearch: false);

            Assert.NotNull(searched);
            Assert.Equal(scanned, searched);
            Assert.All(searched, entry => Assert.Equal(key, entry.UrlKey));
        }

        var twice = (await index.FindAsync(Key(7), CancellationToken.None))!;
        Assert.Equal([7L, 7L], twice.Select(e => e.Offset!.Value));
        Assert.Equal([1L, 2L], twice.Select(e => e.Length!.Value));
        Assert.Equal("https://k000007.example/", twice[0].Url);
        Assert.Equal(200, twice[0].Status);
        Assert.Single((await index.FindAsync(Key(2000), CancellationToken.None))!);
        Assert.Empty((await index.FindAsync("zzz", CancellationToken.None))!);
    }

    [Fact]
    public async Task FindAsync_NoIndexBlob_IsNull()
    {
        await using var host = await EngineHost.StartAsync();

        Assert.Null(await new CdxjIndex(host.Container.GetBlobClient("j/index.cdxj")).FindAsync("a", CancellationToken.None));
    }

    [Fact]
    public void Parse_NumbersAsStringsOrNumbers_ReadsBoth()
    {
        var pywb = CdxjEntry.Parse("org,example)/ 20261205120000 {\"url\":\"https://example.org/\",\"mime\":\"text/html\",\"status\":\"301\",\"offset\":\"10\",\"length\":\"20\",\"filename\":\"a.warc.gz\"}");
        var warcio = CdxjEntry.Parse("org,example)/ 20261205120000 {\"url\":\"https://example.org/\",\"status\":301,\"offset\":10,\"length\":20,\"filename\":\"a.warc.gz\"}");

        Assert.Equal(pywb with { Mime = null }, warcio);
        Assert.Equal(301, pywb.Status);
        Assert.Throws<InvalidDataException>(() => CdxjEntry.Parse("no-json-here"));
        Assert.Throws<InvalidDataException>(() => CdxjEntry.Parse("a b {not json"));
    }
}
