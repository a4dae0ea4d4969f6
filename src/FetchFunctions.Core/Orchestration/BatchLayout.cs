namespace FetchFunctions.Core.Orchestration;

/// <summary>How a job's URLs map to batches. URLs are grouped by host and dealt round-robin: the URL at position p of
/// the grouped order goes to batch p mod B. So batch sizes differ by at most one, and each host is spread over as many
/// batches as it has URLs (up to B), with at most ⌈n/B⌉ of its n URLs in any batch.</summary>
internal static class BatchLayout
{
    public static int BatchCount(int urlCount, int batchSize) => (int)((urlCount + (long)batchSize - 1) / batchSize);

    /// <summary>URLs in batch <paramref name="batch"/> of <paramref name="batchCount"/>: positions batch, batch + B, ….</summary>
    public static int UrlsInBatch(int urlCount, int batchCount, int batch) =>
        urlCount / batchCount + (batch < urlCount % batchCount ? 1 : 0);

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

    /// <summary>The batches of shard <paramref name="shard"/>: the first one and how many.</summary>
    public static (int First, int Count) ShardBatches(CrawlPlan plan, int shard)
    {
        var first = shard * plan.BatchesPerShard;
        return (first, Math.Min(plan.BatchesPerShard, plan.BatchCount - first));
    }

    /// <summary>The plan of a job from its counts alone.</summary>
    public static CrawlPlan Plan(string jobId, int urlCount, int duplicatesRemoved, int batchSize, int batchesPerShard, int maxBatchesInFlight)
    {
        var batches = BatchCount(urlCount, batchSize);
        return new CrawlPlan(jobId, urlCount, duplicatesRemoved, batches, batchesPerShard, ShardCount(batches, batchesPerShard), maxBatchesInFlight);
    }
}
