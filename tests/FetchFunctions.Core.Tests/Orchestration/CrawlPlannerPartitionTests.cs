using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Orchestration;

/// <summary>The planner's bounded-memory path: jobs bigger than Crawl:PlanPartitionUrls, split by host hash.</summary>
public sealed class CrawlPlannerPartitionTests
{
    private const int UrlsPerPartition = 400;

    private static async Task<(CrawlPlanner Sut, EngineHost Host)> CreateSutAsync(int urlsPerPartition = UrlsPerPartition,
        IDictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Crawl:PlanPartitionUrls"] = urlsPerPartition.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Crawl:BatchesPerShard"] = "7",
            ["Crawl:MaxUrls"] = "10000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var host = await EngineHost.StartAsync(values);
        return (host.Provider.GetRequiredService<CrawlPlanner>(), host);
    }

    /// <summary>Hosts of every size: lanes (h0-h9 with 100-280 URLs), shared batches (m*), single-URL hosts.</summary>
    private static List<string> Urls(int count, string tag = "") => [.. Enumerable.Range(0, count).Select(i => (i % 4) switch
    {
        0 or 1 => $"https://h{i % 10}.example/{tag}{i}",
        2 => $"http://m{i % 150}.example/{tag}{i}",
        _ => $"http://single{i}.example/{tag}",
    })];

    private static string HostOf(string url) => UrlNormaliser.HostOf(url).ToString();

    private static async Task<JobTicket> SubmitAsync(EngineHost host, string jobId, IReadOnlyList<string> urls, int batchSize = 20)
    {
        await host.Container.GetBlobClient($"_uploads/{jobId}.txt").UploadAsync(BinaryData.FromString(string.Join("\n", urls)), overwrite: true);
        var result = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(
            new CrawlJobRequest { JobId = jobId, UrlListBlob = $"_uploads/{jobId}.txt", Options = new CrawlJobOptions { BatchSize = batchSize } },
            CancellationToken.None);
        return result.Ticket ?? throw new InvalidOperationException(string.Join("; ", result.Problems));
    }

    private static async Task<List<List<string>>> BatchesAsync(EngineHost host, CrawlPlan plan)
    {
        var store = host.Provider.GetRequiredService<JobStore>();
        var batches = new List<List<string>>();
        for (var batch = 0; batch < plan.BatchCount; batch++)
        {
            batches.Add([.. (await store.ReadBatchManifestAsync(plan.JobId, batch, plan.BatchesPerShard, plan.PlanId, CancellationToken.None)).Urls]);
        }

        return batches;
    }

    /// <summary>The layout the partitioned planner must write, made in memory: hosts ordered by partition, then by first
    /// appearance, and laid out by the same rules as an unpartitioned job.</summary>
    private static (List<List<string>> Batches, LaneRun[] Lanes) ExpectedLayout(List<string> urls, int partitions, int batchSize, int hostsPerLane, int window)
    {
        var inPartitionOrder = urls.Select((url, index) => (url, index))
            .OrderBy(x => CrawlPlanner.PartitionOf(HostOf(x.url), partitions)).ThenBy(x => x.index).Select(x => x.url).ToList();
        var (order, hostStarts) = CrawlPlanner.GroupByHost(inPartitionOrder);
        var layout = BatchLayout.Assign(CrawlPlanner.HostSizes(hostStarts), batchSize, hostsPerLane, window);
        return ([.. Enumerable.Range(0, layout.BatchCount).Select(b => CrawlPlanner.BatchUrls(inPartitionOrder, order, hostStarts, layout, b).ToList())],
            layout.Lanes);
    }

    [Fact]
    public void PartitionCount_JobSizes_OneUpToThePartitionSizeThenCappedAtMax()
    {
        Assert.Equal(1, CrawlPlanner.PartitionCount(1_000_000, 1_000_000));
        Assert.Equal(2, CrawlPlanner.PartitionCount(1_000_001, 1_000_000));
        Assert.Equal(10, CrawlPlanner.PartitionCount(10_000_000, 1_000_000));
        Assert.Equal(CrawlPlanner.MaxPartitions, CrawlPlanner.PartitionCount(10_000_000, 1));
    }

    [Fact]
    public void PartitionOf_UrlsOfManyHosts_EveryHostInOnePartitionAndEveryPartitionUsed()
    {
        var urls = Urls(20_000);

        var partitionsOfHost = urls.GroupBy(HostOf).Select(h => h.Select(u => CrawlPlanner.PartitionOf(UrlNormaliser.HostOf(u), 16)).Distinct().Count());
        var used = urls.Select(u => CrawlPlanner.PartitionOf(UrlNormaliser.HostOf(u), 16)).Distinct().Order();

        Assert.All(partitionsOfHost, count => Assert.Equal(1, count));
        Assert.Equal(Enumerable.Range(0, 16), used);
    }

    [Fact]
    public async Task PlanAsync_JobOverPartitionSize_WritesTheInMemoryLayoutOfItsPartitionOrder()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var urls = Urls(3000);
        var ticket = await SubmitAsync(host, "part-1", urls);

        var plan = await sut.PlanAsync(ticket, CancellationToken.None);

        // 3000 URLs in partitions of 400: 8 partitions; hosts per lane ⌈16 / 4⌉; the window of 8.
        var (expected, lanes) = ExpectedLayout(urls, 8, 20, 4, 8);
        Assert.Equal(expected, await BatchesAsync(host, plan));
        Assert.Equal(lanes, plan.Lanes);
        Assert.Equal((3000, expected.Count), (plan.UrlCount, plan.BatchCount));
        Assert.Equal(BatchLayout.ShardCount(expected.Count, 7), plan.ShardCount);
        Assert.Equal(3000, plan.ShardUrlCounts.Sum());
    }

    [Fact]
    public async Task PlanAsync_JobOverPartitionSize_EveryUrlOnceAndEachHostInOneBatchOrOneLane()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var urls = Urls(3000);
        var ticket = await SubmitAsync(host, "part-2", urls);

        var plan = await sut.PlanAsync(ticket, CancellationToken.None);
        var batches = await BatchesAsync(host, plan);

        Assert.Equal(urls.Order(StringComparer.Ordinal), batches.SelectMany(b => b).Order(StringComparer.Ordinal));
        var lanes = BatchLayout.Streams(plan.Lanes, plan.BatchCount).ToList();
        var streamOf = new int[plan.BatchCount];
        for (var s = 0; s < lanes.Count; s++)
        {
            for (var b = lanes[s].First; b < lanes[s].First + lanes[s].Count; b++)
            {
                streamOf[b] = s;
            }
        }

        var streamsOfHost = batches.SelectMany((b, index) => b.Select(u => (Host: HostOf(u), Stream: streamOf[index])))
            .GroupBy(x => x.Host).Select(g => g.Select(x => x.Stream).Distinct().Count());
        Assert.All(streamsOfHost, count => Assert.Equal(1, count));
    }

    [Fact]
    public async Task PlanAsync_JobOverPartitionSize_LeavesNoScratchBlobs()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var ticket = await SubmitAsync(host, "part-3", Urls(1000));

        await sut.PlanAsync(ticket, CancellationToken.None);

        await foreach (var blob in host.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = BlobNames.PlanScratchPrefix("part-3") }))
        {
            Assert.Fail($"Left behind: {blob.Name}");
        }

        Assert.True(await host.ExistsAsync(BlobNames.ShardManifest("part-3", 0)));
    }

    [Fact]
    public async Task PlanAsync_SameJobTwice_SamePlanIdAndManifests()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var urls = Urls(2000);

        var first = await sut.PlanAsync(await SubmitAsync(host, "part-4", urls), CancellationToken.None);
        var firstBatches = await BatchesAsync(host, first);
        var second = await sut.PlanAsync(await SubmitAsync(host, "part-4", urls), CancellationToken.None);

        Assert.Equal(first, second with { Lanes = first.Lanes, ShardUrlCounts = first.ShardUrlCounts });
        Assert.Equal(first.Lanes, second.Lanes);
        Assert.Equal(first.ShardUrlCounts, second.ShardUrlCounts);
        Assert.Equal(firstBatches, await BatchesAsync(host, second));
    }

    [Fact]
    public async Task PlanAsync_OneUrlOrSettingOrPartitionSizeChanged_NewPlanId()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var urls = Urls(2000);
        var changed = urls.ToList();
        changed[1234] = "https://h4.example/other";

        var original = (await sut.PlanAsync(await SubmitAsync(host, "part-5", urls), CancellationToken.None)).PlanId;
        var oneUrl = (await sut.PlanAsync(await SubmitAsync(host, "part-5", changed), CancellationToken.None)).PlanId;
        var batchSize = (await sut.PlanAsync(await SubmitAsync(host, "part-5", urls, batchSize: 21), CancellationToken.None)).PlanId;
        var (other, otherHost) = await CreateSutAsync(urlsPerPartition: 700, new Dictionary<string, string?> { ["Storage:ContainerName"] = host.Container.Name });
        await using var __ = otherHost;
        var partitionSize = (await other.PlanAsync(new JobTicket("part-5", BlobNames.Job("part-5")), CancellationToken.None)).PlanId;
        var again = (await sut.PlanAsync(await SubmitAsync(host, "part-5", urls), CancellationToken.None)).PlanId;

        Assert.Equal(original, again);
        Assert.Equal(4, new[] { original, oneUrl, batchSize, partitionSize }.Distinct().Count());
    }

    [Fact]
    public async Task PlanAsync_MoreShardsThanSpillBlobs_WritesTheInMemoryLayoutOfItsPartitionOrder()
    {
        // Partitions of 50 URLs: 60 partitions; a shard of one batch: about 170 shards, more than the 64 spill blobs allowed.
        var (sut, host) = await CreateSutAsync(urlsPerPartition: 50, new Dictionary<string, string?> { ["Crawl:BatchesPerShard"] = "1" });
        await using var _ = host;
        var urls = Urls(3000);

        var plan = await sut.PlanAsync(await SubmitAsync(host, "part-6", urls), CancellationToken.None);

        var (expected, lanes) = ExpectedLayout(urls, 60, 20, 4, 8);
        Assert.True(plan.ShardCount > CrawlPlanner.MaxPartitions);
        Assert.Equal(expected, await BatchesAsync(host, plan));
        Assert.Equal(lanes, plan.Lanes);
    }

    [Fact]
    public async Task PlanAsync_SomeManifestsOfThePlanWritten_WritesTheMissingOnesAlikeAndKeepsTheOthers()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var ticket = await SubmitAsync(host, "part-7", Urls(3000));
        var plan = await sut.PlanAsync(ticket, CancellationToken.None);
        var batches = await BatchesAsync(host, plan);
        var kept = host.Container.GetBlobClient(BlobNames.ShardManifest("part-7", 0));
        var keptVersion = (await kept.GetPropertiesAsync()).Value.ETag;
        await host.Container.DeleteBlobAsync(BlobNames.ShardManifest("part-7", 2));

        var again = await sut.PlanAsync(ticket, CancellationToken.None);

        Assert.Equal(plan.PlanId, again.PlanId);
        Assert.Equal(batches, await BatchesAsync(host, again));
        Assert.Equal(keptVersion, (await kept.GetPropertiesAsync()).Value.ETag);
    }

    [Fact]
    public async Task PlanAsync_ScratchOfAnEarlierPlanLeftBehind_Deleted()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var ticket = await SubmitAsync(host, "part-8", Urls(1000));
        // What the planner before the spill blobs left when it was stopped half-way.
        await host.Container.GetBlobClient($"{BlobNames.PlanScratchPrefix("part-8")}part-000.txt").UploadAsync(BinaryData.FromString("x\n"));

        await sut.PlanAsync(ticket, CancellationToken.None);

        await foreach (var blob in host.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = BlobNames.PlanScratchPrefix("part-8") }))
        {
            Assert.Fail($"Left behind: {blob.Name}");
        }
    }

    [Fact]
    public async Task PlanAsync_ListHoldsMoreUrlsThanAnnounced_FailsAndLeavesNoScratch()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var urls = Urls(1000);
        var ticket = await SubmitAsync(host, "part-9", urls);
        await host.Container.GetBlobClient(BlobNames.UrlList("part-9"))
            .UploadAsync(BinaryData.FromString(string.Join("\n", urls.Append("https://extra.example/"))), overwrite: true);

        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => sut.PlanAsync(ticket, CancellationToken.None));

        Assert.Contains("more than the 1000 URLs", failure.Message, StringComparison.Ordinal);
        await foreach (var blob in host.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = BlobNames.PlanScratchPrefix("part-9") }))
        {
            Assert.Fail($"Left behind: {blob.Name}");
        }
    }

    [Theory]
    [InlineData(UrlsPerPartition)]
    [InlineData(10_000)]
    public async Task PlanAsync_ListWithCrLfBreaksAndByteOrderMark_SamePlanAsWithLf(int urlsPerPartition)
    {
        var (sut, host) = await CreateSutAsync(urlsPerPartition);
        await using var _ = host;
        var urls = Urls(1500);
        var ticket = await SubmitAsync(host, "part-10", urls);
        var plan = await sut.PlanAsync(ticket, CancellationToken.None);
        var batches = await BatchesAsync(host, plan);
        await host.Container.GetBlobClient(BlobNames.UrlList("part-10"))
            .UploadAsync(new BinaryData([0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(string.Join("\r\n", urls) + "\r\n")]), overwrite: true);

        var again = await sut.PlanAsync(ticket, CancellationToken.None);

        Assert.Equal(plan.PlanId, again.PlanId);
        Assert.Equal(batches, await BatchesAsync(host, again));
    }
}
