namespace FetchFunctions.Core.Orchestration;

/// <summary>How a job's URLs map to batches, grouped by host so that per-host limits hold job-wide:
/// <list type="bullet">
/// <item>a host with more URLs than its share of a batch (B / hosts per lane, see <see cref="Assign"/>) goes to a
/// <em>lane</em>: consecutive batches holding only the lane's hosts, which the orchestration runs as one stream of lane
/// calls, each fetching its batches through one set of host queues;</item>
/// <item>every other host lies wholly inside one batch, packed with other small hosts (next fit, in order of first
/// appearance): such batches are independent.</item>
/// </list>
/// Lanes come first, longest first (the longest lane is the job's critical path, so it starts at once), then the shared
/// batches. So the lanes are described by a few <see cref="LaneRun"/>s, however many hosts the job has. Next fit and
/// rounding up each lane at most double the batches of a layout of full batches (⌈n/B⌉).</summary>
internal static class BatchLayout
{
    /// <summary>Batches of a layout with every batch full: the fewest any layout has.</summary>
    public static int BatchCount(int urlCount, int batchSize) => (int)((urlCount + (long)batchSize - 1) / batchSize);

    /// <summary>URLs in batch <paramref name="batch"/> of the round-robin layout of earlier plans (positions batch,
    /// batch + B, …), which plans without <see cref="CrawlPlan.ShardUrlCounts"/> still in flight were written with.</summary>
    public static int UrlsInBatch(int urlCount, int batchCount, int batch) =>
        urlCount / batchCount + (batch < urlCount % batchCount ? 1 : 0);

    /// <summary>URLs in a range of batches of the round-robin layout (see <see cref="UrlsInBatch"/>).</summary>
    public static int UrlsInBatches(int urlCount, int batchCount, int firstBatch, int count)
    {
        if (batchCount == 0 || count <= 0)
        {
            return 0;
        }

        var larger = Math.Clamp(urlCount % batchCount - firstBatch, 0, count);
        return count * (urlCount / batchCount) + larger;
    }

    public static int ShardCount(int batchCount, int batchesPerShard) => (batchCount + batchesPerShard - 1) / batchesPerShard;

    /// <summary>The batches of shard <paramref name="shard"/>'s manifest: the first one and how many.</summary>
    public static (int First, int Count) ShardBatches(CrawlPlan plan, int shard)
    {
        var first = shard * plan.BatchesPerShard;
        return (first, Math.Min(plan.BatchesPerShard, plan.BatchCount - first));
    }

    /// <summary>A plan from counts alone, every batch independent (no lanes).</summary>
    public static CrawlPlan Plan(string jobId, int urlCount, int duplicatesRemoved, int batchSize, int batchesPerShard, int maxBatchesInFlight)
    {
        var batches = BatchCount(urlCount, batchSize);
        return new CrawlPlan(jobId, urlCount, duplicatesRemoved, batches, batchesPerShard, ShardCount(batches, batchesPerShard), maxBatchesInFlight);
    }

    /// <summary>The plan of a host layout: its batches, its lanes and, when it has several shards, the URLs of the
    /// batches each shard runs (see <see cref="ShardRanges"/>).</summary>
    public static CrawlPlan Plan(string jobId, HostLayout layout, int duplicatesRemoved, int batchesPerShard, int maxBatchesInFlight)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var batches = layout.BatchCount;
        var shards = ShardCount(batches, batchesPerShard);
        var shardUrls = shards <= 1
            ? []
            : ShardRanges(layout.Lanes, batches, batchesPerShard).Select(range => layout.UrlsInBatches(range.First, range.Count)).ToArray();
        return new CrawlPlan(jobId, layout.UrlCount, duplicatesRemoved, batches, batchesPerShard, shards, maxBatchesInFlight)
        {
            Lanes = layout.Lanes,
            ShardUrlCounts = shardUrls,
        };
    }

    /// <summary>Lays out hosts of the given sizes (in order of first appearance) into batches of at most
    /// <paramref name="batchSize"/> URLs. Hosts bigger than a batch's share for one host (B / <paramref name="hostsPerLane"/>)
    /// share lanes, at least
    /// <paramref name="hostsPerLane"/> to a lane where there are enough of them (so a lane's batch can use its whole
    /// concurrency, one host taking at most its per-host share), in as many lanes as the window runs at once or a
    /// multiple of it (so no lane is left running alone at the end); each host goes to the lane with the fewest URLs so
    /// far, biggest hosts first. Within a lane, each host's URLs are spread evenly over the lane's batches.
    /// O(hosts × log lanes + batches × hosts per lane).</summary>
    public static HostLayout Assign(IReadOnlyList<int> hostSizes, int batchSize, int hostsPerLane = 1, int window = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(hostSizes);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hostsPerLane, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        // A host over a batch's share for one host goes to a lane: so a shared batch holds at least hostsPerLane hosts.
        var share = Math.Max(1, batchSize / hostsPerLane);
        var big = new List<int>();
        for (var host = 0; host < hostSizes.Count; host++)
        {
            if (hostSizes[host] > share)
            {
                big.Add(host);
            }
        }

        // Biggest first; hosts of equal size in order of first appearance.
        big.Sort((a, b) => hostSizes[a] != hostSizes[b] ? hostSizes[b].CompareTo(hostSizes[a]) : a.CompareTo(b));
        var fullLanes = (big.Count + hostsPerLane - 1) / hostsPerLane;
        var laneCount = fullLanes <= window ? fullLanes : fullLanes / window * window;
        var laneHosts = new List<int>[laneCount];
        var laneUrls = new long[laneCount];
        var lightest = new PriorityQueue<int, (long Urls, int Lane)>(laneCount);
        for (var lane = 0; lane < laneCount; lane++)
        {
            laneHosts[lane] = [];
            lightest.Enqueue(lane, (0, lane));
        }

        foreach (var host in big)
        {
            var lane = lightest.Dequeue();
            laneHosts[lane].Add(host);
            laneUrls[lane] += hostSizes[host];
            lightest.Enqueue(lane, (laneUrls[lane], lane));
        }

        // Longest lane first (the longest is the job's critical path, so it starts at once); ties in lane order.
        var order = Enumerable.Range(0, laneCount).Select(lane => (Lane: lane, Batches: BatchCount((int)laneUrls[lane], batchSize)))
            .OrderByDescending(l => l.Batches).ThenBy(l => l.Lane).ToList();

        // Lane segments first (a few per lane batch), then one per shared host: the array is sized exactly, not copied
        // from a list, since with millions of single-URL hosts it is the layout's biggest part.
        var laneSegments = new List<HostSegment>(order.Sum(l => l.Batches * laneHosts[l.Lane].Count));
        var batchStarts = new List<int> { 0 };
        var lanes = new List<LaneRun>();
        var urls = 0;
        foreach (var (lane, batches) in order)
        {
            // Each host gets ⌊n/L⌋ URLs in every batch of the lane; the remainders are dealt on round-robin from host to
            // host, so batch sizes differ by at most one and none exceeds the batch size.
            var offsets = new int[laneHosts[lane].Count];
            var firstExtra = new int[offsets.Length];
            for (var i = 1; i < offsets.Length; i++)
            {
                firstExtra[i] = (firstExtra[i - 1] + hostSizes[laneHosts[lane][i - 1]] % batches) % batches;
            }

            for (var batch = 0; batch < batches; batch++)
            {
                for (var i = 0; i < offsets.Length; i++)
                {
                    var size = hostSizes[laneHosts[lane][i]];
                    var count = size / batches + ((batch - firstExtra[i] + batches) % batches < size % batches ? 1 : 0);
                    if (count > 0)
                    {
                        laneSegments.Add(new HostSegment(laneHosts[lane][i], offsets[i], count));
                        offsets[i] += count;
                    }
                }

                batchStarts.Add(laneSegments.Count);
            }

            urls += (int)laneUrls[lane];
            if (lanes.Count > 0 && lanes[^1].Length == batches)
            {
                lanes[^1] = lanes[^1] with { Count = lanes[^1].Count + 1 };
            }
            else
            {
                lanes.Add(new LaneRun(batches, 1));
            }
        }

        var shared = 0;
        for (var host = 0; host < hostSizes.Count; host++)
        {
            if (hostSizes[host] is > 0 and var small && small <= share)
            {
                shared++;
            }
        }

        var segments = new HostSegment[laneSegments.Count + shared];
        laneSegments.CopyTo(segments);
        var next = laneSegments.Count;
        var fill = 0;
        for (var host = 0; host < hostSizes.Count; host++)
        {
            var size = hostSizes[host];
            if (size > share || size == 0)
            {
                continue;
            }

            if (fill + size > batchSize)
            {
                batchStarts.Add(next);
                fill = 0;
            }

            segments[next++] = new HostSegment(host, 0, size);
            fill += size;
            urls += size;
        }

        if (fill > 0)
        {
            batchStarts.Add(next);
        }

        return new HostLayout(segments, [.. batchStarts], [.. lanes], urls);
    }

    /// <summary>The lanes of <paramref name="lanes"/> (laid from batch 0) clipped to batches [first, first + count),
    /// relative to <paramref name="first"/>: the lanes a shard of those batches must run one call at a time.</summary>
    public static IReadOnlyList<LaneRun> LanesWithin(IReadOnlyList<LaneRun> lanes, int first, int count)
    {
        ArgumentNullException.ThrowIfNull(lanes);
        var within = new List<LaneRun>();
        long end = (long)first + count;
        long start = 0;
        foreach (var run in lanes)
        {
            var runEnd = start + (long)run.Length * run.Count;
            if (runEnd > first && start < end)
            {
                // The lanes of this run that meet the range: the first and last may be clipped, those between are whole.
                var firstLane = Math.Max(0, (first - start) / run.Length);
                var lastLane = Math.Min(run.Count - 1, (end - 1 - start) / run.Length);
                for (var lane = firstLane; lane <= lastLane; lane++)
                {
                    var laneStart = start + lane * run.Length;
                    var clipped = (int)(Math.Min(laneStart + run.Length, end) - Math.Max(laneStart, first));
                    if (lane > firstLane && lane < lastLane)
                    {
                        Append(within, run.Length, (int)(lastLane - firstLane - 1));
                        lane = lastLane - 1;
                        continue;
                    }

                    Append(within, clipped, 1);
                }
            }

            start = runEnd;
        }

        return within;
    }

    private static void Append(List<LaneRun> lanes, int length, int count)
    {
        if (lanes.Count > 0 && lanes[^1].Length == length)
        {
            lanes[^1] = lanes[^1] with { Count = lanes[^1].Count + count };
        }
        else
        {
            lanes.Add(new LaneRun(length, count));
        }
    }

    /// <summary>Whether batch <paramref name="batch"/> continues the lane of the batch before it.</summary>
    public static bool ContinuesLane(IReadOnlyList<LaneRun> lanes, int batch) => LaneOf(lanes, batch) is { } lane && lane.Start < batch;

    /// <summary>The lane batch <paramref name="batch"/> is in, as [Start, End), or null for an independent batch.</summary>
    public static (int Start, int End)? LaneOf(IReadOnlyList<LaneRun> lanes, int batch)
    {
        ArgumentNullException.ThrowIfNull(lanes);
        long start = 0;
        foreach (var run in lanes)
        {
            var runEnd = start + (long)run.Length * run.Count;
            if (batch < runEnd)
            {
                if (batch < start || run.Length < 2)
                {
                    return null;
                }

                var laneStart = (int)(start + (batch - start) / run.Length * run.Length);
                return (laneStart, laneStart + run.Length);
            }

            start = runEnd;
        }

        return null;
    }

    /// <summary>The batches each shard's orchestration runs. Shard s's manifest holds batches [s·P, (s+1)·P), but a lane
    /// that crosses the end of its range is run whole by the shard it starts in (any orchestration may run any batch:
    /// the batch's index names its manifest), and the next shard starts after it. Only a lane too long for that (the
    /// shard would schedule more than <see cref="Jobs.CrawlOptions.MaxLaneCallsPerShard"/> lane calls) is split between
    /// shards, which then share it and run one after another. With no lanes, shard s runs [s·P, (s+1)·P).</summary>
    public static (int First, int Count)[] ShardRanges(IReadOnlyList<LaneRun> lanes, int batchCount, int batchesPerShard)
    {
        var ranges = new (int First, int Count)[ShardCount(batchCount, batchesPerShard)];
        var start = 0;
        for (var shard = 0; shard < ranges.Length; shard++)
        {
            var end = shard == ranges.Length - 1 ? batchCount : Math.Max((shard + 1) * batchesPerShard, start);
            if (end < batchCount && LaneOf(lanes, end) is { } lane && lane.Start < end && lane.End - start <= Jobs.CrawlOptions.MaxLaneCallsPerShard)
            {
                end = lane.End;
            }

            ranges[shard] = (start, end - start);
            start = end;
        }

        return ranges;
    }

    /// <summary>The batches a scheduler must run in order, one at a time: each lane as (First, Count), then every other
    /// batch of <paramref name="batchCount"/> as a stream of one.</summary>
    public static IEnumerable<(int First, int Count)> Streams(IReadOnlyList<LaneRun> lanes, int batchCount)
    {
        ArgumentNullException.ThrowIfNull(lanes);
        var next = 0;
        foreach (var run in lanes)
        {
            for (var lane = 0; lane < run.Count && next < batchCount; lane++)
            {
                var length = Math.Min(run.Length, batchCount - next);
                yield return (next, length);
                next += length;
            }
        }

        for (; next < batchCount; next++)
        {
            yield return (next, 1);
        }
    }
}

/// <summary>Part of one host's URLs in a batch: <see cref="Count"/> URLs from <see cref="Offset"/> in the host's own order.</summary>
internal readonly record struct HostSegment(int Host, int Offset, int Count);

/// <summary>A layout of hosts into batches: batch b is <see cref="Segments"/>[<see cref="BatchStarts"/>[b] ..
/// <see cref="BatchStarts"/>[b + 1]).</summary>
internal sealed record HostLayout(HostSegment[] Segments, int[] BatchStarts, LaneRun[] Lanes, int UrlCount)
{
    public int BatchCount => BatchStarts.Length - 1;

    public ReadOnlySpan<HostSegment> Batch(int batch) => Segments.AsSpan(BatchStarts[batch], BatchStarts[batch + 1] - BatchStarts[batch]);

    public int UrlsInBatch(int batch)
    {
        var urls = 0;
        foreach (var segment in Batch(batch))
        {
            urls += segment.Count;
        }

        return urls;
    }

    public int UrlsInBatches(int first, int count) => Enumerable.Range(first, count).Sum(UrlsInBatch);
}
