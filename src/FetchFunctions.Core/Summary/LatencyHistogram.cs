using System.Collections.ObjectModel;
using System.Text.Json.Serialization;

namespace FetchFunctions.Core.Summary;

/// <summary>A latency histogram with fixed, log-spaced buckets: 8 per doubling from 1 ms to about 4.7 hours, so a
/// percentile read from it is at most about 9 % above the true value. Fixed buckets make it mergeable by adding counts,
/// and sparse storage keeps it to a few hundred bytes.</summary>
public sealed record LatencyHistogram
{
    public const int BucketsPerDoubling = 8;

    /// <summary>The last bucket, which also takes everything slower.</summary>
    public const int MaxBucket = BucketsPerDoubling * 24;

    /// <summary>Bucket index → count, non-empty buckets only. Bucket 0 is [0, 1 ms); bucket k is
    /// [2^((k-1)/8), 2^(k/8)) ms.</summary>
    public IReadOnlyDictionary<int, long> Buckets { get; init; } = ReadOnlyDictionary<int, long>.Empty;

    public long Count { get; init; }
    public double TotalMilliseconds { get; init; }
    public double MaxMilliseconds { get; init; }

    [JsonIgnore]
    public double MeanMilliseconds => Count == 0 ? 0 : TotalMilliseconds / Count;

    public static LatencyHistogram Empty { get; } = new();

    public static int BucketOf(double milliseconds) => milliseconds < 1 || double.IsNaN(milliseconds)
        ? 0
        : (int)Math.Min(MaxBucket, Math.Floor(Math.Log2(milliseconds) * BucketsPerDoubling) + 1);

    public static double UpperBoundOf(int bucket) => Math.Pow(2, (double)bucket / BucketsPerDoubling);

    public static LatencyHistogram FromMilliseconds(IEnumerable<double> durations)
    {
        ArgumentNullException.ThrowIfNull(durations);
        var buckets = new Dictionary<int, long>();
        long count = 0;
        double total = 0, max = 0;
        foreach (var ms in durations)
        {
            var bucket = BucketOf(ms);
            buckets[bucket] = buckets.GetValueOrDefault(bucket) + 1;
            count++;
            total += ms;
            max = Math.Max(max, ms);
        }

        return count == 0 ? Empty : new LatencyHistogram { Buckets = Counts.Sorted(buckets), Count = count, TotalMilliseconds = total, MaxMilliseconds = max };
    }

    public static LatencyHistogram Merge(LatencyHistogram left, LatencyHistogram right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return new LatencyHistogram
        {
            Buckets = Counts.Add(left.Buckets, right.Buckets),
            Count = left.Count + right.Count,
            TotalMilliseconds = left.TotalMilliseconds + right.TotalMilliseconds,
            MaxMilliseconds = Math.Max(left.MaxMilliseconds, right.MaxMilliseconds),
        };
    }

    /// <summary>The upper bound of the bucket holding the <paramref name="quantile"/> (0 to 1), never more than the
    /// slowest duration seen; 0 when empty.</summary>
    public double Percentile(double quantile)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(quantile);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1);
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * Count));
        long seen = 0;
        foreach (var (bucket, count) in Buckets.OrderBy(b => b.Key))
        {
            seen += count;
            if (seen >= rank)
            {
                return Math.Min(UpperBoundOf(bucket), MaxMilliseconds);
            }
        }

        return MaxMilliseconds;
    }
}

/// <summary>Sparse counters added up key by key.</summary>
internal static class Counts
{
    public static IReadOnlyDictionary<TKey, long> Add<TKey>(IReadOnlyDictionary<TKey, long> left, IReadOnlyDictionary<TKey, long> right)
        where TKey : notnull
    {
        if (right.Count == 0)
        {
            return left;
        }

        if (left.Count == 0)
        {
            return right;
        }

        var sum = new Dictionary<TKey, long>(left);
        foreach (var (key, count) in right)
        {
            sum[key] = sum.GetValueOrDefault(key) + count;
        }

        return Sorted(sum);
    }

    /// <summary>The same counts in key order: serialised, equal counts then give equal text whatever the merge order,
    /// so orchestration inputs built from them are identical on replay.</summary>
    public static Dictionary<TKey, long> Sorted<TKey>(IReadOnlyDictionary<TKey, long> counts)
        where TKey : notnull
    {
        var sorted = new Dictionary<TKey, long>(counts.Count);
        var comparer = typeof(TKey) == typeof(string) ? (IComparer<TKey>)StringComparer.Ordinal : Comparer<TKey>.Default;
        foreach (var key in counts.Keys.Order(comparer))
        {
            sorted.Add(key, counts[key]);
        }

        return sorted;
    }
}
