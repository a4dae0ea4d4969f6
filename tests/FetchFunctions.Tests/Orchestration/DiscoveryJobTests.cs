using System.Text.Json;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Tests.Discovery;
using FetchFunctions.Tests.Infrastructure;
using Microsoft.DurableTask.Client;

namespace FetchFunctions.Tests.Orchestration;

/// <summary>Jobs with a crawl section through the app's own functions (POST, the queue function, the orchestrators and
/// the PlanRound and FetchLane activities in the Durable test host, GET) on the full site graph of issue 19 point 5.</summary>
[Collection(AppTests.Name)]
public sealed class DiscoveryJobTests(AppHost app)
{
    /// <summary>The pages requested to depth 2 from the home page (scope host, nofollow respected), literally.</summary>
    private static readonly string[] ToDepthTwo =
    [
        "{site}/",
        "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing", "{site}/cal/1", "{site}/meta",
        "{site}/xrobots", "{site}/docs/",
        "{site}/a/deep", "{site}/sub/x", "{site}/d", "{site}/cal/2", "{site}/docs/guide", "{site}/outside",
    ];

    private static async Task<SiteGraph> StartSiteAsync()
    {
        var site = await SiteGraph.StartAsync();
        FullSiteGraph.Build(site);
        return site;
    }

    private static string[] Pages(SiteGraph site) =>
        [.. site.Requests.Where(r => !r.EndsWith("/robots.txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private async Task<List<JsonElement>> ResultLinesAsync(string jobId)
    {
        var lines = new List<JsonElement>();
        await foreach (var item in app.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"{jobId}/results/" }))
        {
            var content = (await app.Container.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content.ToString();
            lines.AddRange(content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()));
        }

        return lines;
    }

    private static void AssertDepthTwoSummary(HttpAnswer status)
    {
        Assert.Equal(200, status.Status);
        Assert.True(status.Body.GetProperty("runtimeStatus").GetString() == "Completed", status.Body.ToString());
        var summary = status.Body.GetProperty("summary");
        Assert.Equal(16, summary.GetProperty("total").GetInt64());
        var byDepth = summary.GetProperty("pagesByDepth");
        Assert.Equal((1L, 9L, 6L), (byDepth.GetProperty("0").GetInt64(), byDepth.GetProperty("1").GetInt64(), byDepth.GetProperty("2").GetInt64()));
        var discovery = summary.GetProperty("discovery");
        Assert.Equal([1L, 9L, 6L], discovery.GetProperty("pagesByDepth").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal((24L, 3L, 3L, 3L), (discovery.GetProperty("linksFound").GetInt64(), discovery.GetProperty("outOfScope").GetInt64(),
            discovery.GetProperty("duplicates").GetInt64(), discovery.GetProperty("nofollow").GetInt64()));
        var progress = status.Body.GetProperty("progress");
        Assert.Equal((16L, 16L, 15L, 2), (progress.GetProperty("urlsDone").GetInt64(), progress.GetProperty("urlsTotal").GetInt64(),
            progress.GetProperty("discovered").GetInt64(), progress.GetProperty("depth").GetInt32()));
    }

    [Fact]
    public async Task DiscoveryJob_DepthTwo_RequestsExactlyTheInScopePagesOnceAndCountsThem()
    {
        await using var site = await StartSiteAsync();
        var jobId = $"disc-{Guid.NewGuid():N}";

        var status = await app.RunJobAsync(new { jobId, urls = new[] { site.Site.AbsoluteUri }, crawl = new { maxDepth = 2 } }, jobId);

        AssertDepthTwoSummary(status);
        Assert.Equal(site.Seen(ToDepthTwo), Pages(site));
        Assert.Equal(site.Requests.Count, site.Requests.Distinct(StringComparer.Ordinal).Count());
        var rows = await ResultLinesAsync(jobId);
        Assert.Equal(16, rows.Count);
        var deep = Assert.Single(rows, r => r.GetProperty("url").GetString() == site.Expand("{site}/a/deep"));
        Assert.Equal((2, site.Expand("{site}/a")), (deep.GetProperty("depth").GetInt32(), deep.GetProperty("foundOn").GetString()));
    }

    [Fact]
    public async Task ShardedDiscoveryJob_RoundsOverSeveralShards_RequestsEachPageOnceAndEveryShardCompletes()
    {
        await using var site = await StartSiteAsync();
        var jobId = $"discsh-{Guid.NewGuid():N}";

        // Batches of one URL, two per shard (AppHost.BatchesPerShard): round 1's nine pages take five shards from shard 1
        // (the seed's one batch is shard 0, run without a sub-orchestration), round 2's six take three from shard 6.
        var status = await app.RunJobAsync(new
        {
            jobId, urls = new[] { site.Site.AbsoluteUri }, options = new { batchSize = 1 }, crawl = new { maxDepth = 2 },
        }, jobId);

        AssertDepthTwoSummary(status);
        Assert.Equal(site.Seen(ToDepthTwo), Pages(site));
        Assert.Equal(site.Requests.Count, site.Requests.Distinct(StringComparer.Ordinal).Count());
        Assert.Null(await app.Client.GetInstanceAsync(CrawlOrchestration.ShardInstanceId(jobId, 0)));
        for (var shard = 1; shard <= 8; shard++)
        {
            var instance = await app.Client.GetInstanceAsync(CrawlOrchestration.ShardInstanceId(jobId, shard));
            Assert.True(instance?.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"shard {shard}: {instance?.RuntimeStatus}");
        }

        Assert.Null(await app.Client.GetInstanceAsync(CrawlOrchestration.ShardInstanceId(jobId, 9)));
        Assert.Equal(16, (await ResultLinesAsync(jobId)).Count);
    }
}
