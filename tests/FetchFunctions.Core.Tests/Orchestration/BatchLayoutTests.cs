using System.Text.Json;
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

    /// <summary>Each batch as "host:count" segments joined by '+', batches joined by ' | '.</summary>
    private static string Describe(HostLayout layout) => string.Join(" | ",
        Enumerable.Range(0, layout.BatchCount).Select(b => string.Join('+', layout.Batch(b).ToArray().Select(s => $"{s.Host}:{s.Count}"))));

    [Theory]
    // Small hosts packed in order of first appearance, each wholly in one batch.
    [InlineData(new[] { 3, 3, 3, 3 }, 10, "0:3+1:3+2:3 | 3:3", "")]
    [InlineData(new[] { 6, 5, 4, 1 }, 10, "0:6 | 1:5+2:4+3:1", "")]
    [InlineData(new[] { 10, 1 }, 10, "0:10 | 1:1", "")]
    // A host over the batch size gets a lane of its own, balanced; lanes first, longest first, then shared batches.
    [InlineData(new[] { 2, 11, 3 }, 10, "1:6 | 1:5 | 0:2+2:3", "2x1")]
    [InlineData(new[] { 25, 2, 31, 21 }, 10, "2:8 | 2:8 | 2:8 | 2:7 | 0:9 | 0:8 | 0:8 | 3:7 | 3:7 | 3:7 | 1:2", "4x1,3x2")]
    [InlineData(new[] { 5, 5, 5 }, 1, "0:1 | 0:1 | 0:1 | 0:1 | 0:1 | 1:1 | 1:1 | 1:1 | 1:1 | 1:1 | 2:1 | 2:1 | 2:1 | 2:1 | 2:1", "5x3")]
    [InlineData(new int[0], 10, "", "")]
    public void Assign_HostSizes_PacksSmallHostsAndGivesBigOnesLanes(int[] sizes, int batchSize, string batches, string lanes)
    {
        var layout = BatchLayout.Assign(sizes, batchSize);

        Assert.Equal(batches, Describe(layout));
        Assert.Equal(lanes, string.Join(',', layout.Lanes.Select(l => $"{l.Length}x{l.Count}")));
        Assert.Equal(sizes.Sum(), layout.UrlCount);
        Assert.Equal(sizes.Sum(), layout.UrlsInBatches(0, layout.BatchCount));
    }

    [Fact]
    public void Assign_BigHostsWithHostsPerLane_SharesLanesBalancedBiggestFirst()
    {
        // Two hosts to a lane: lane 0 gets 30 then 12 (the lighter lane after 25 and 22 went to lane 1); each host's URLs
        // spread evenly over its lane's 5 batches, remainders dealt round-robin; the small host packs after the lanes.
        var layout = BatchLayout.Assign([30, 25, 22, 12, 3], batchSize: 10, hostsPerLane: 2, window: 8);

        Assert.Equal("0:6+3:3 | 0:6+3:3 | 0:6+3:2 | 0:6+3:2 | 0:6+3:2 | 1:5+2:5 | 1:5+2:5 | 1:5+2:4 | 1:5+2:4 | 1:5+2:4 | 4:3", Describe(layout));
        Assert.Equal([new LaneRun(5, 2)], layout.Lanes);
    }

    [Theory]
    // 13 lanes' worth of hosts (4 to a lane) but a window of 8: 8 lanes, so none is left running alone at the end.
    [InlineData(50, 4, 8, 8)]
    [InlineData(50, 4, 4, 12)]
    [InlineData(50, 4, 16, 13)]
    [InlineData(50, 1, 8, 48)]
    [InlineData(3, 4, 8, 1)]
    public void Assign_ManyBigHosts_LanesAMultipleOfTheWindowOrAllAtOnce(int hosts, int hostsPerLane, int window, int lanes)
    {
        var layout = BatchLayout.Assign([.. Enumerable.Repeat(400, hosts)], batchSize: 50, hostsPerLane, window);

        Assert.Equal(lanes, layout.Lanes.Sum(l => l.Count));
        Assert.Equal(hosts * 400, layout.UrlCount);
    }

    [Fact]
    public void Assign_SameSizes_SameLayout()
    {
        var sizes = Enumerable.Range(0, 5000).Select(i => i * 7919 % 113 + 1).ToArray();

        Assert.Equal(Describe(BatchLayout.Assign(sizes, 50, 4, 8)), Describe(BatchLayout.Assign([.. sizes], 50, 4, 8)));
    }

    [Theory]
    // Lanes 5x2 then 3x1 then 2x1 cover batches 0-4, 5-9, 10-12, 13-14; batches from 15 are independent.
    [InlineData(0, 20, "5x2,3x1,2x1")]
    [InlineData(3, 10, "2x1,5x1,3x1")]
    [InlineData(5, 5, "5x1")]
    [InlineData(7, 7, "3x1,3x1,1x1")]
    [InlineData(14, 6, "1x1")]
    [InlineData(15, 5, "")]
    [InlineData(1, 3, "3x1")]
    public void LanesWithin_Range_ClipsLanesToItRelativeToItsStart(int first, int count, string expected)
    {
        LaneRun[] lanes = [new(5, 2), new(3, 1), new(2, 1)];

        var within = BatchLayout.LanesWithin(lanes, first, count);

        // Adjacent runs of equal length merge, so compare the lanes one by one.
        Assert.Equal(Expand(expected), Expand(string.Join(',', within.Select(l => $"{l.Length}x{l.Count}"))));
        Assert.Equal(Math.Min(count, Math.Max(0, 15 - first)), within.Sum(l => l.Length * l.Count));
    }

    [Fact]
    public void LanesWithin_RangeOverManyLanesOfOneRun_ClipsBothEndsKeepsTheMiddleWhole()
    {
        var within = BatchLayout.LanesWithin([new LaneRun(2, 5)], 1, 8);

        Assert.Equal([new LaneRun(1, 1), new LaneRun(2, 3), new LaneRun(1, 1)], within);
    }

    private static List<int> Expand(string runs) => [.. runs.Split(',', StringSplitOptions.RemoveEmptyEntries)
        .SelectMany(r => Enumerable.Repeat(int.Parse(r.Split('x')[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(r.Split('x')[1], System.Globalization.CultureInfo.InvariantCulture)))];

    [Fact]
    public void ContinuesLane_EveryBatch_TrueExactlyInsideALane()
    {
        LaneRun[] lanes = [new(3, 2), new(2, 1)];

        var continues = Enumerable.Range(0, 12).Where(b => BatchLayout.ContinuesLane(lanes, b));

        Assert.Equal([1, 2, 4, 5, 7], continues);
    }

    [Theory]
    // Lanes 5x2, 3x1, 2x1 cover batches 0-4, 5-9, 10-12, 13-14; 20 batches.
    [InlineData(4, "0+5 5+5 10+3 13+3 16+4")]
    [InlineData(5, "0+5 5+5 10+5 15+5")]
    [InlineData(3, "0+5 5+5 10+0 10+3 13+2 15+3 18+2")]
    [InlineData(20, "0+20")]
    public void ShardRanges_LanesCrossingBoundaries_RunWholeByTheShardTheyStartIn(int batchesPerShard, string expected)
    {
        LaneRun[] lanes = [new(5, 2), new(3, 1), new(2, 1)];

        var ranges = BatchLayout.ShardRanges(lanes, 20, batchesPerShard);

        Assert.Equal(expected, string.Join(' ', ranges.Select(r => $"{r.First}+{r.Count}")));
    }

    [Fact]
    public void ShardRanges_LaneLongerThanOneOrchestrationMaySchedule_SplitAtShardBoundaries()
    {
        var ranges = BatchLayout.ShardRanges([new LaneRun(2499, 1)], 2600, 500);

        // Shard 2 could take the rest of the lane (batches 1000-2498) only by scheduling more than the cap allows;
        // shard 3 can (1500-2498 is 999 lane calls, and the shard's index merge makes 1,000).
        Assert.Equal([(0, 500), (500, 500), (1000, 500), (1500, 999), (2499, 1), (2500, 100)], ranges);
    }

    [Fact]
    public void Streams_Lanes_EachLaneOneStreamThenSingles()
    {
        LaneRun[] lanes = [new(3, 2), new(2, 1)];

        Assert.Equal([(0, 3), (3, 3), (6, 2), (8, 1), (9, 1)], BatchLayout.Streams(lanes, 10));
        Assert.Equal([(0, 3), (3, 1)], BatchLayout.Streams(lanes, 4));
    }

    [Fact]
    public void Plan_MillionUrlsOfVariedHosts_StaysSmallInHistory()
    {
        // 1,000,000 URLs: hosts of 1 to 1000 URLs (all lane lengths from 2 to 20 at batch size 50), and the rest of one URL.
        var sizes = new List<int>();
        for (var i = 1; sizes.Sum() < 900_000; i++)
        {
            sizes.Add(i % 1000 + 1);
        }

        sizes.AddRange(Enumerable.Repeat(1, 1_000_000 - sizes.Sum()));
        var layout = BatchLayout.Assign(sizes, 50);

        var plan = BatchLayout.Plan("job", layout, 0, 500, 8);

        Assert.Equal(1_000_000, plan.UrlCount);
        Assert.Equal(plan.ShardCount, plan.ShardUrlCounts.Count);
        Assert.Equal(1_000_000, plan.ShardUrlCounts.Sum());
        Assert.InRange(plan.Lanes.Count, 1, 20);
        Assert.InRange(JsonSerializer.Serialize(plan).Length, 1, 2048);
    }
}
