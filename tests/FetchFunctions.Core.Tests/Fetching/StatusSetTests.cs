using FetchFunctions.Core.Fetching;

namespace FetchFunctions.Core.Tests.Fetching;

public sealed class StatusSetTests
{
    [Fact]
    public void Contains_RangesAndCodes_MatchesExactlyThose()
    {
        var sut = StatusSet.Parse(["200-299", "404"]);

        Assert.True(sut.Contains(200));
        Assert.True(sut.Contains(299));
        Assert.True(sut.Contains(404));
        Assert.False(sut.Contains(300));
        Assert.False(sut.Contains(403));
        Assert.Equal(["200-299", "404"], sut.ToStrings());
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("99")]
    [InlineData("600")]
    [InlineData("300-200")]
    [InlineData("200-299-300")]
    [InlineData("")]
    public void TryParse_Malformed_FailsWithMessage(string item)
    {
        Assert.False(StatusSet.TryParse([item], out _, out var error));
        Assert.Contains(item, error, StringComparison.Ordinal);
    }
}
