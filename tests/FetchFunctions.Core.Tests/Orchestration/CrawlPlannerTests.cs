using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class CrawlPlannerTests
{
    private static async Task<(CrawlPlanner Sut, EngineHost Host)> CreateSutAsync(IDictionary<string, string?>? settings = null)
    {
        var host = await EngineHost.StartAsync(settings);
        return (host.Provider.GetRequiredService<CrawlPlanner>(), host);
    }

    /// <summary>A skewed host mix: one big host, a few medium ones, many with a single URL.</summary>
    private static List<string> Urls(int count) => [.. Enumerable.Range(0, count).Select(i => i % 2 == 0
        ? $"https://big.example/{i}"
        : i % 5 == 1 ? $"https://m{i % 3}.example:8443/{i}" : $"http://single{i}.example/")];

    private static async Task<JobTicket> SubmitAsync(EngineHost host, string jobId, IReadOnlyList<string> urls, int batchSize)
    {
        var result = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(
            new CrawlJobRequest { JobId = jobId, Urls = urls, Options = new CrawlJobOptions { BatchSize = batchSize } }, CancellationToken.None);
        return result.Ticket ?? throw new InvalidOperationException(string.Join("; ", result.Problems));
    }

    /// <summary>Every batch of the plan, read the way the batch activity reads it.</summary>
    private static async Task<List<BatchManifest>> ManifestsAsync(EngineHost host, CrawlPlan plan)
    {
        var store = host.Provider.GetRequiredService<JobStore>();
        var manifests = new List<BatchManifest>();
        for (var batch = 0; batch < plan.BatchCount; batch++)
        {
            manifests.Add(await store.ReadBatchManifestAsync(plan.JobId, batch, plan.BatchesPerShard, CancellationToken.None));
        }

        return manifests;
    }

    private static async Task<List<string>> ManifestBlobsAsync(EngineHost host, string jobId)
    {
        var names = new List<string>();
        await foreach (var blob in host.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = BlobNames.BatchManifestPrefix(jobId) }))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    /// <summary>The batches of <paramref name="urls"/> as the planner lays them out, and the plan's lanes.</summary>
    private static (List<List<string>> Batches, LaneRun[] Lanes) Layout(IReadOnlyList<string> urls, int batchSize, int hostsPerLane = 1,
        int window = int.MaxValue)
    {
        var (order, hostStarts) = CrawlPlanner.GroupByHost(urls);
        var layout = BatchLayout.Assign(CrawlPlanner.HostSizes(hostStarts), batchSize, hostsPerLane, window);
        return ([.. Enumerable.Range(0, layout.BatchCount).Select(b => CrawlPlanner.BatchUrls(urls, order, hostStarts, layout, b).ToList())], layout.Lanes);
    }

    /// <summary>Many hosts of many sizes: 40 of 30 to 420 URLs, and single-URL hosts.</summary>
    private static List<string> ManyHosts(int count) => [.. Enumerable.Range(0, count).Select(i => i % 3 == 0
        ? $"http://single{i}.example/"
        : $"https://h{i % 40}.example/{i}?n={i * 7 % 40 * 10}")];

    private static string HostOf(string url) => UrlNormaliser.HostOf(url).ToString();

    [Fact]
    public void GroupByHost_SameInput_SameOrder()
    {
        var urls = Urls(10_000);

        Assert.Equal(CrawlPlanner.GroupByHost(urls).Order, CrawlPlanner.GroupByHost([.. urls]).Order);
        Assert.Equal(CrawlPlanner.GroupByHost(urls).HostStarts, CrawlPlanner.GroupByHost([.. urls]).HostStarts);
    }

    [Fact]
    public void GroupByHost_Urls_IsPermutationGroupedByHostInFirstSeenOrder()
    {
        var urls = Urls(1000);

        var (order, hostStarts) = CrawlPlanner.GroupByHost(urls);

        Assert.Equal(Enumerable.Range(0, 1000), order.Order());
        var hosts = order.Select(i => HostOf(urls[i])).ToList();
        var runs = hosts.Where((h, i) => i == 0 || hosts[i - 1] != h).ToList();
        Assert.Equal(runs.Count, runs.Distinct().Count());
        Assert.Equal(urls.Select(HostOf).Distinct(), runs);
        Assert.Equal(runs.Count + 1, hostStarts.Length);
        Assert.Equal(runs.Select(h => urls.Count(u => HostOf(u) == h)), CrawlPlanner.HostSizes(hostStarts));
    }

    [Theory]
    [InlineData(1000, 50, 1, int.MaxValue)]
    [InlineData(12_345, 50, 1, int.MaxValue)]
    [InlineData(999, 7, 1, int.MaxValue)]
    [InlineData(5000, 1, 1, int.MaxValue)]
    [InlineData(12_345, 50, 4, 8)]
    [InlineData(999, 7, 3, 2)]
    public void BatchUrls_Layout_EveryHostInOneBatchOrInOneLane(int count, int batchSize, int hostsPerLane, int window)
    {
        var urls = Urls(count);

        AssertHostsInOneBatchOrOneLane(urls, batchSize, hostsPerLane, window);
    }

    [Theory]
    [InlineData(20_000, 50, 4, 8)]
    [InlineData(20_000, 50, 1, 8)]
    [InlineData(20_000, 20, 16, 3)]
    [InlineData(6000, 50, 4, 256)]
    public void BatchUrls_ManyBigHosts_GroupedIntoLanesOfAtLeastHostsPerLaneInWindowMultiples(int count, int batchSize, int hostsPerLane, int window)
    {
        var urls = ManyHosts(count);

        var (batches, lanes) = AssertHostsInOneBatchOrOneLane(urls, batchSize, hostsPerLane, window);

        var big = urls.GroupBy(HostOf).Count(h => h.Count() > batchSize);
        var laneCount = lanes.Sum(l => l.Count);
        var fullLanes = (big + hostsPerLane - 1) / hostsPerLane;
        Assert.Equal(fullLanes <= window ? fullLanes : fullLanes / window * window, laneCount);
        // Balanced: the biggest host decides, or lanes differ by at most one host's worth of URLs.
        var laneUrls = BatchLayout.Streams(lanes, batches.Count).Where(s => s.Count > 1)
            .Select(s => batches.Skip(s.First).Take(s.Count).Sum(b => b.Count)).ToList();
        var biggest = urls.GroupBy(HostOf).Max(h => h.Count());
        Assert.True(laneUrls.Max() - laneUrls.Min() <= biggest, $"lanes of {laneUrls.Min()} to {laneUrls.Max()} URLs");
    }

    /// <summary>Every URL once; batches of 1 to B URLs; each host either in a single batch, or in the batches of exactly
    /// one planned lane, which hold no host that appears anywhere else, spread evenly over the lane.</summary>
    private static (List<List<string>> Batches, LaneRun[] Lanes) AssertHostsInOneBatchOrOneLane(List<string> urls, int batchSize, int hostsPerLane, int window)
    {
        var (layout, lanes) = Layout(urls, batchSize, hostsPerLane, window);

        Assert.Equal(urls.Order(StringComparer.Ordinal), layout.SelectMany(b => b).Order(StringComparer.Ordinal));
        Assert.All(layout, b => Assert.InRange(b.Count, 1, batchSize));
        Assert.InRange(layout.Count, BatchLayout.BatchCount(urls.Count, batchSize), 2 * BatchLayout.BatchCount(urls.Count, batchSize));
        var laneRanges = BatchLayout.Streams(lanes, layout.Count).Where(s => s.Count > 1).ToList();
        var laneOfBatch = new int?[layout.Count];
        for (var lane = 0; lane < laneRanges.Count; lane++)
        {
            for (var b = laneRanges[lane].First; b < laneRanges[lane].First + laneRanges[lane].Count; b++)
            {
                laneOfBatch[b] = lane;
            }
        }

        var sizes = urls.GroupBy(HostOf).ToDictionary(h => h.Key, h => h.Count(), StringComparer.Ordinal);
        var batchesOf = Enumerable.Range(0, layout.Count).SelectMany(b => layout[b].Select(u => (Host: HostOf(u), Batch: b)))
            .GroupBy(x => x.Host).ToDictionary(g => g.Key, g => g.Select(x => x.Batch).ToList(), StringComparer.Ordinal);
        foreach (var (host, size) in sizes)
        {
            var all = batchesOf[host];
            var batches = all.Distinct().ToList();
            if (size <= batchSize)
            {
                Assert.Single(batches);
                Assert.Null(laneOfBatch[batches[0]]);
                continue;
            }

            var lane = laneOfBatch[batches[0]];
            Assert.NotNull(lane);
            Assert.All(batches, b => Assert.Equal(lane, laneOfBatch[b]));
            var (first, length) = laneRanges[lane.Value];
            var perBatch = Enumerable.Range(first, length).Select(b => all.Count(x => x == b)).ToList();
            Assert.InRange(perBatch.Max() - perBatch.Min(), 0, 1);
        }

        Assert.All(Enumerable.Range(0, layout.Count).Where(b => laneOfBatch[b] is not null),
            b => Assert.All(layout[b], u => Assert.True(sizes[HostOf(u)] > batchSize)));
        return (layout, lanes);
    }

    [Fact]
    public void BatchUrls_SameInput_SameLayout()
    {
        var urls = Urls(5000);

        Assert.Equal(Layout(urls, 30).Batches, Layout([.. urls], 30).Batches);
        Assert.Equal(Layout(urls, 30).Lanes, Layout([.. urls], 30).Lanes);
    }

    [Fact]
    public async Task PlanAsync_StoredJob_WritesOneShardManifestHoldingEveryBatchAndEveryUrlOnce()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var urls = Urls(1234);
        var ticket = await SubmitAsync(host, "plan-1", urls, batchSize: 50);

        var plan = await sut.PlanAsync(ticket, CancellationToken.None);

        // big.example's 617 URLs and the three m*.example hosts' 41 or so each (over 50 / ⌈16 / 4⌉ = 12, a batch's share for
        // one host) share a lane of 15 batches; the 493 single-URL hosts pack into 10 more.
        Assert.Equal(new CrawlPlan("plan-1", 1234, 0, 25, 500, 1, 8), plan with { Lanes = [], ShardUrlCounts = [], PlanId = null });
        Assert.Matches("^[0-9a-f]{32}$", plan.PlanId);
        Assert.Equal([new LaneRun(15, 1)], plan.Lanes);
        Assert.Empty(plan.ShardUrlCounts);
        Assert.Equal([BlobNames.ShardManifest("plan-1", 0)], await ManifestBlobsAsync(host, "plan-1"));
        var manifests = await ManifestsAsync(host, plan);
        Assert.Equal(Enumerable.Range(0, 25), manifests.Select(m => m.BatchIndex));
        Assert.All(manifests.Take(15), m => Assert.All(m.Urls, u => Assert.DoesNotContain("single", u, StringComparison.Ordinal)));
        Assert.All(manifests.Skip(15), m => Assert.All(m.Urls, u => Assert.Contains("single", u, StringComparison.Ordinal)));
        Assert.All(manifests, m => Assert.Equal("plan-1", m.JobId));
        Assert.Equal(urls.Order(StringComparer.Ordinal), manifests.SelectMany(m => m.Urls).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_Twice_WritesIdenticalManifests()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var ticket = await SubmitAsync(host, "plan-2", Urls(500), batchSize: 30);

        var plan = await sut.PlanAsync(ticket, CancellationToken.None);
        var first = (await ManifestsAsync(host, plan)).Select(m => string.Join('\n', m.Urls)).ToList();
        await sut.PlanAsync(ticket, CancellationToken.None);
        var second = (await ManifestsAsync(host, plan)).Select(m => string.Join('\n', m.Urls)).ToList();

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task PlanAsync_SameJobSubmittedAgain_SamePlanIdKeepsItsManifestsAndResults()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var store = host.Provider.GetRequiredService<JobStore>();
        var first = await sut.PlanAsync(await SubmitAsync(host, "plan-5", Urls(100), batchSize: 10), CancellationToken.None);
        var manifest = host.Container.GetBlobClient(BlobNames.ShardManifest("plan-5", 0));
        var manifestETag = (await manifest.GetPropertiesAsync()).Value.ETag;
        await store.UploadAsync(BlobNames.BatchResults("plan-5", 3), BinaryData.FromString("{}\n"), JobStore.NdjsonContentType, first.PlanId, CancellationToken.None);

        // Submitted again later: another submission time, the same URLs and settings.
        var second = await sut.PlanAsync(await SubmitAsync(host, "plan-5", Urls(100), batchSize: 10), CancellationToken.None);

        Assert.Equal(first.PlanId, second.PlanId);
        Assert.Equal(manifestETag, (await manifest.GetPropertiesAsync()).Value.ETag);
        Assert.True(await host.ExistsAsync(BlobNames.BatchResults("plan-5", 3)));
    }

    [Fact]
    public async Task ReadBatchManifestAsync_BatchOfAnEarlierPlan_IsRefusedAfterTheJobWasPlannedAgain()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var store = host.Provider.GetRequiredService<JobStore>();
        var first = await sut.PlanAsync(await SubmitAsync(host, "plan-7", Urls(100), batchSize: 10), CancellationToken.None);
        var second = await sut.PlanAsync(await SubmitAsync(host, "plan-7", Urls(120), batchSize: 10), CancellationToken.None);

        var current = await store.ReadBatchManifestAsync("plan-7", 0, second.BatchesPerShard, second.PlanId, CancellationToken.None);
        var stale = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.ReadBatchManifestAsync("plan-7", 0, first.BatchesPerShard, first.PlanId, CancellationToken.None));

        Assert.NotEqual(first.PlanId, second.PlanId);
        Assert.NotEmpty(current.Urls);
        Assert.Contains("another plan", stale.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_JobChangedUnderTheSameId_NewPlanIdRewritesManifestsAndDropsOldResults()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var store = host.Provider.GetRequiredService<JobStore>();
        var first = await sut.PlanAsync(await SubmitAsync(host, "plan-6", Urls(100), batchSize: 10), CancellationToken.None);
        await store.UploadAsync(BlobNames.BatchResults("plan-6", 3), BinaryData.FromString("{}\n"), JobStore.NdjsonContentType, first.PlanId, CancellationToken.None);

        var changedSettings = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
        {
            JobId = "plan-6", Urls = Urls(100), Options = new CrawlJobOptions { BatchSize = 10, MaxRetries = 1 },
        }, CancellationToken.None);
        var second = await sut.PlanAsync(changedSettings.Ticket!, CancellationToken.None);
        var changedUrls = await sut.PlanAsync(await SubmitAsync(host, "plan-6", Urls(101), batchSize: 10), CancellationToken.None);

        Assert.NotEqual(first.PlanId, second.PlanId);
        Assert.NotEqual(second.PlanId, changedUrls.PlanId);
        Assert.NotEqual(first.PlanId, changedUrls.PlanId);
        Assert.Equal(changedUrls.PlanId, await store.PlanIdOfAsync(BlobNames.ShardManifest("plan-6", 0), CancellationToken.None));
        Assert.False(await host.ExistsAsync(BlobNames.BatchResults("plan-6", 3)));
    }

    [Fact]
    public async Task PlanAsync_MoreBatchesThanPerShard_SplitsIntoShards()
    {
        var (sut, host) = await CreateSutAsync(new Dictionary<string, string?> { ["Crawl:BatchesPerShard"] = "4", ["Crawl:MaxUrls"] = "1000", ["Crawl:MaxInlineUrls"] = "1000" });
        await using var _ = host;
        var ticket = await SubmitAsync(host, "plan-3", Urls(95), batchSize: 10);

        var plan = await sut.PlanAsync(ticket, CancellationToken.None);

        Assert.Equal((10, 4, 3), (plan.BatchCount, plan.BatchesPerShard, plan.ShardCount));
        Assert.Equal(Enumerable.Range(0, 3).Select(s => BlobNames.ShardManifest("plan-3", s)), await ManifestBlobsAsync(host, "plan-3"));
        var manifests = await ManifestsAsync(host, plan);
        Assert.Equal(Enumerable.Range(0, 10), manifests.Select(m => m.BatchIndex));
        Assert.Equal(95, manifests.SelectMany(m => m.Urls).Distinct().Count());
    }

    [Fact]
    public async Task PlanAsync_AfterBiggerEarlierRun_RemovesItsLeftovers()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var ticket = await SubmitAsync(host, "plan-4", Urls(100), batchSize: 10);
        await sut.PlanAsync(ticket, CancellationToken.None);
        await host.Container.UploadBlobAsync(BlobNames.BatchResults("plan-4", 9), BinaryData.FromString("{}"));
        await host.Container.UploadBlobAsync(BlobNames.BatchResults("plan-4", 2), BinaryData.FromString("{}"));
        await host.Container.UploadBlobAsync(BlobNames.Summary("plan-4"), BinaryData.FromString("{}"));
        await host.Container.UploadBlobAsync(BlobNames.ShardManifest("plan-4", 7), BinaryData.FromString("{}"));
        await host.Container.UploadBlobAsync(BlobNames.ShardIndex("plan-4", 0), BinaryData.FromString("a 1 {}\n"));

        ticket = await SubmitAsync(host, "plan-4", Urls(30), batchSize: 10);
        var plan = await sut.PlanAsync(ticket, CancellationToken.None);

        // big.example's 15 URLs take a lane of 2 batches, the 15 others pack into 2.
        Assert.Equal(4, plan.BatchCount);
        Assert.Equal([0, 1, 2, 3], (await ManifestsAsync(host, plan)).Select(m => m.BatchIndex));
        Assert.Equal([BlobNames.ShardManifest("plan-4", 0)], await ManifestBlobsAsync(host, "plan-4"));
        // Results of another plan are dropped, inside the new plan's range too: they describe other URLs or settings.
        Assert.False(await host.ExistsAsync(BlobNames.BatchResults("plan-4", 2)));
        Assert.False(await host.ExistsAsync(BlobNames.BatchResults("plan-4", 9)));
        Assert.False(await host.ExistsAsync(BlobNames.Summary("plan-4")));
        // A shard index is merged again by its shard in every run: one left would index another run's pages.
        Assert.False(await host.ExistsAsync(BlobNames.ShardIndex("plan-4", 0)));
    }

    [Fact]
    public async Task PlanAsync_UrlListShorterThanJobSays_Fails()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var ticket = await SubmitAsync(host, "plan-5", Urls(10), batchSize: 5);
        await host.Container.GetBlobClient(BlobNames.UrlList("plan-5")).UploadAsync(BinaryData.FromString("https://a.example/\n"), overwrite: true);

        await Assert.ThrowsAsync<InvalidDataException>(() => sut.PlanAsync(ticket, CancellationToken.None));
    }

    [Fact]
    public async Task PlanAsync_ShardSizeLoweredAfterIntake_FailsInsteadOfExceedingTheShardCap()
    {
        var (_, accepting) = await CreateSutAsync(new Dictionary<string, string?>
        {
            ["Crawl:BatchesPerShard"] = "2",
            ["Crawl:MaxUrls"] = "2000",
            ["Crawl:MaxInlineUrls"] = "2000",
        });
        await using var _ = accepting;
        var urls = Enumerable.Range(0, CrawlOptions.MaxShardsPerJob + 1).Select(i => $"https://a.example/{i}").ToList();
        var ticket = await SubmitAsync(accepting, "plan-6", urls, batchSize: 1);
        // The operator then lowers the shard size: one shard per batch would be one more shard than allowed.
        var (sut, planning) = await CreateSutAsync(new Dictionary<string, string?>
        {
            ["Crawl:BatchesPerShard"] = "1",
            ["Crawl:MaxUrls"] = "2000",
            ["Crawl:MaxInlineUrls"] = "2000",
            ["Storage:ContainerName"] = accepting.Container.Name,
        });
        await using var __ = planning;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => sut.PlanAsync(ticket, CancellationToken.None));

        Assert.Contains($"at most {CrawlOptions.MaxShardsPerJob}", error.Message, StringComparison.Ordinal);
        Assert.Empty(await ManifestBlobsAsync(accepting, "plan-6"));
    }
}
