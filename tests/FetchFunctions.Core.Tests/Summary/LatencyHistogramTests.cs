using FetchFunctions.Core.Summary;

namespace FetchFunctions.Core.Tests.Summary;

public sealed class LatencyHistogramTests
{
    private static LatencyHistogram CreateSut(params double[] milliseconds) => LatencyHistogram.FromMilliseconds(milliseconds);

    [Fact]
    public void Percentile_Empty_IsZero() => Assert.Equal(0, CreateSut().Percentile(0.99));

    [Fact]
    public void Percentile_UniformOneToTenThousand_IsWithinBucketError()
    {
        var sut = CreateSut([.. Enumerable.Range(1, 10_000).Select(i => (double)i)]);

        foreach (var (quantile, exact) in new[] { (0.50, 5_000.0), (0.95, 9_500.0), (0.99, 9_900.0) })
        {
            var value = sut.Percentile(quantile);
            Assert.InRange(value, exact, exact * Math.Pow(2, 1.0 / LatencyHistogram.BucketsPerDoubling));
        }
    }

    [Fact]
    public void Percentile_NeverExceedsSlowestSample()
    {
        var sut = CreateSut(3, 3, 3, 1000);

        Assert.Equal(1000, sut.Percentile(0.99));
        Assert.Equal(1000, sut.MaxMilliseconds);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0.999, 0)]
    [InlineData(1, 1)]
    [InlineData(1.09, 1)]
    [InlineData(2, 9)]
    [InlineData(1e12, LatencyHistogram.MaxBucket)]
    public void BucketOf_Duration_IsLogSpaced(double milliseconds, int bucket) => Assert.Equal(bucket, LatencyHistogram.BucketOf(milliseconds));

    [Fact]
    public void BucketOf_EveryDuration_LiesBelowItsBucketsUpperBound()
    {
        for (var ms = 0.5; ms < 1e7; ms *= 1.07)
        {
            var bucket = LatencyHistogram.BucketOf(ms);
            Assert.True(ms < LatencyHistogram.UpperBoundOf(bucket) * (1 + 1e-12), $"{ms} ms in bucket {bucket}");
            Assert.True(bucket == 0 || ms >= LatencyHistogram.UpperBoundOf(bucket - 1) * (1 - 1e-12), $"{ms} ms in bucket {bucket}");
        }
    }

    [Fact]
    public void Merge_TwoHalves_EqualsWhole()
    {
        var samples = Enumerable.Range(0, 2000).Select(i => Math.Pow(1.01, i)).ToArray();
        var whole = CreateSut(samples);

        var merged = LatencyHistogram.Merge(CreateSut(samples[..700]), CreateSut(samples[700..]));

        Assert.Equal(whole.Count, merged.Count);
        Assert.Equal(whole.MaxMilliseconds, merged.MaxMilliseconds);
        Assert.Equal(whole.TotalMilliseconds, merged.TotalMilliseconds, tolerance: whole.TotalMilliseconds * 1e-12);
        Assert.Equal(whole.Buckets.OrderBy(b => b.Key), merged.Buckets.OrderBy(b => b.Key));
        foreach (var q in new[] { 0.5, 0.95, 0.99 })
        {
            Assert.Equal(whole.Percentile(q), merged.Percentile(q));
        }
    }
}
