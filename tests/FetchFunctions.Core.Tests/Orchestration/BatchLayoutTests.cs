using FetchFunctions.Core.Orchestration;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class BatchLayoutTests
{
    [Theory]
    [InlineData(0, 50, 0)]
    [InlineData(1, 50, 1)]
    [InlineData(50, 50, 1)]
    [InlineData(51, 50, 2)]
    [InlineData(1_000_000, 50, 20_000)]
    public void BatchCount_Urls_RoundsUp(int urls, int size, int batches) => Assert.Equal(batches, BatchLayout.BatchCount(urls, size));

    [Theory]
    [InlineData(101, 50)]
    [InlineData(1000, 7)]
    [InlineData(12_345, 50)]
    public void UrlsInBatches_AnyRange_MatchesPerBatchSumAndTotals(int urls, int size)
    {
        var batches = BatchLayout.BatchCount(urls, size);
        var perBatch = Enumerable.Range(0, batches).Select(b => BatchLayout.UrlsInBatch(urls, batches, b)).ToArray();

        Assert.Equal(urls, perBatch.Sum());
        Assert.All(perBatch, n => Assert.InRange(n, 1, size));
        Assert.True(perBatch.Max() - perBatch.Min() <= 1);
        for (var first = 0; first < batches; first += 3)
        {
            var count = Math.Min(5, batches - first);
            Assert.Equal(perBatch.Skip(first).Take(count).Sum(), BatchLayout.UrlsInBatches(urls, batches, first, count));
        }
    }
}
