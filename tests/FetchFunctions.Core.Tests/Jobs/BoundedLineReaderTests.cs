using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class BoundedLineReaderTests
{
    private static BoundedLineReader CreateSut(string text, int maxKept) => new(new StringReader(text), maxKept);

    private static async Task<List<BoundedLine>> ReadAllAsync(BoundedLineReader reader)
    {
        var lines = new List<BoundedLine>();
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    [Fact]
    public async Task ReadLineAsync_MixedLineEndings_SplitsLikeReadLine()
    {
        var lines = await ReadAllAsync(CreateSut("a\r\nbb\n\nccc", 100));

        Assert.Equal(["a", "bb", "", "ccc"], lines.Select(l => l.Text));
        Assert.Equal([1L, 2, 0, 3], lines.Select(l => l.Length));
        Assert.All(lines, l => Assert.False(l.Truncated));
    }

    [Fact]
    public async Task ReadLineAsync_LineLongerThanCap_KeepsCapAndReportsFullLength()
    {
        var longLine = new string('x', 100_000);

        var lines = await ReadAllAsync(CreateSut($"short\n{longLine}\nafter\n", 10));

        Assert.Equal(3, lines.Count);
        Assert.Equal(new BoundedLine(new string('x', 10), 100_000, true), lines[1]);
        Assert.Equal("after", lines[2].Text);
    }

    [Fact]
    public async Task ReadLineAsync_TrailingNewline_AddsNoEmptyLine()
    {
        var lines = await ReadAllAsync(CreateSut("a\nb\n", 10));

        Assert.Equal(["a", "b"], lines.Select(l => l.Text));
    }

    [Fact]
    public async Task ReadLineAsync_LineWithoutEndBeyondScanLimit_ReturnsItUnfinishedAndStops()
    {
        var sut = new BoundedLineReader(new StringReader("a\n" + new string('\0', 50_000) + "\nnever read\n"), 10, maxScanned: 20_000);

        var lines = await ReadAllAsync(sut);

        Assert.Equal(2, lines.Count);
        Assert.Equal(new BoundedLine(new string('\0', 10), 20_000, Truncated: true, Unfinished: true), lines[1]);
    }
}
