using System.Text;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Tests.Storage;

public sealed class Utf8LinesTests
{
    private static List<string> Lines(string text)
    {
        var lines = new List<string>();
        foreach (var line in new Utf8Lines(Encoding.UTF8.GetBytes(text)))
        {
            lines.Add(Encoding.UTF8.GetString(line));
        }

        return lines;
    }

    [Theory]
    [InlineData("a\nb\n")]
    [InlineData("a\r\nb")]
    [InlineData("\n\na\r\rb\r\n\r\n")]
    [InlineData("a\nb\r\n")]
    public void Enumerate_AnyLineBreaks_TheNonEmptyLinesAStreamReaderGives(string text)
    {
        var expected = new List<string>();
        using (var reader = new StringReader(text))
        {
            while (reader.ReadLine() is { } line)
            {
                if (line.Length > 0)
                {
                    expected.Add(line);
                }
            }
        }

        Assert.Equal(expected, Lines(text));
        Assert.Equal(["a", "b"], Lines(text));
    }

    [Fact]
    public void Enumerate_NoText_NoLines() => Assert.Empty(Lines(""));

    [Fact]
    public void TryRead_StoppedAndResumed_GoesOnFromTheOffset()
    {
        var text = "one\ntwo\r\nthree"u8;
        var offset = 0;

        Assert.True(Utf8Lines.TryRead(text, ref offset, out var first));
        Assert.Equal("one", Encoding.UTF8.GetString(first));
        var resumedAt = offset;
        Assert.True(Utf8Lines.TryRead(text, ref offset, out var second));
        Assert.True(Utf8Lines.TryRead(text, ref offset, out var third));
        Assert.False(Utf8Lines.TryRead(text, ref offset, out _));

        Assert.Equal(4, resumedAt);
        Assert.Equal(("two", "three"), (Encoding.UTF8.GetString(second), Encoding.UTF8.GetString(third)));
        Assert.Equal(text.Length, offset);
    }
}
