using System.Globalization;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Orchestration;

/// <summary>Lane calls over real Azurite and a loopback server that counts each host's requests in flight: a host's
/// batches are fetched through one set of host queues and committed one by one, as soon as each is done.</summary>
public sealed class LaneActivityTests
{
    private static Task<EngineHost> CreateSutAsync(string? laneBudget = null) => EngineHost.StartAsync(new Dictionary<string, string?>
    {
        ["Crawl:LaneBudget"] = laneBudget,
    });

    private static string NewRun() => $"ln{Guid.NewGuid():N}"[..14];

    /// <summary>Pages of one run on one host: page i holds <paramref name="holdMs"/>(i) ms (negative: until released).</summary>
    private static List<string> Pages(Uri host, string run, int count, Func<int, int> holdMs, int first = 0) =>
        [.. Enumerable.Range(first, count).Select(i => new Uri(host, string.Create(CultureInfo.InvariantCulture, $"polite/{run}/{i}/{holdMs(i)}")).AbsoluteUri)];

    private static async Task<JobTicket> SubmitAsync(EngineHost host, string run, IReadOnlyList<string> urls, CrawlJobOptions options)
    {
        var submitted = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(
            new CrawlJobRequest { JobId = run, Urls = urls, Options = options }, CancellationToken.None);
        return submitted.Ticket ?? throw new InvalidOperationException(string.Join("; ", submitted.Problems));
    }

    private static async Task<List<int>> CommittedAsync(EngineHost host, string run, int batches)
    {
        var committed = new List<int>();
        for (var batch = 0; batch < batches; batch++)
        {
            if (await host.ExistsAsync(BlobNames.BatchResults(run, batch)))
            {
                committed.Add(batch);
            }
        }

        return committed;
    }

    [Fact]
    public async Task RunAsync_SlowUrlInTheLanesFirstBatch_LaterBatchesOfTheHostStartAndCommitWhileItIsHeld()
    {
        await using var server = await LoopbackServer.StartAsync(hosts: 1);
        await using var host = await CreateSutAsync();
        var run = NewRun();
        // One host, 40 pages in batches of 5: one lane of 8 batches. Page 0 answers only when the test says so.
        var urls = Pages(server.HostUris[0], run, 40, i => i == 0 ? -1 : 20);
        var ticket = await SubmitAsync(host, run, urls, new CrawlJobOptions { BatchSize = 5, MaxConcurrencyPerHost = 3 });

        var job = host.Provider.GetRequiredService<ICrawlRunner>().RunAsync(ticket, null, CancellationToken.None);
        await Poll.UntilAsync(async () => (await CommittedAsync(host, run, 8)).Count == 7, "batches 1-7 to commit while page 0 is held",
            TimeSpan.FromSeconds(60));

        Assert.Equal(Enumerable.Range(1, 7), await CommittedAsync(host, run, 8));
        Assert.False(job.IsCompleted);
        server.PoliteHold(run).SetResult();
        var summary = await job;
        Assert.Equal((40L, 40L, 8), (summary.Total, summary.Succeeded, summary.Batches));
        var load = server.Load(run, "127.0.0.1");
        Assert.Equal(40, load.Arrivals.Count);
        // The held page kept one of the host's three slots; the other two served the later batches, never more.
        Assert.Equal(3, load.Peak);
    }

    [Fact]
    public async Task FetchLaneAsync_BudgetPassed_ReturnsItsCursorAndTheNextCallFetchesOnlyTheRest()
    {
        await using var server = await LoopbackServer.StartAsync(hosts: 1);
        // No budget at all: every call opens its first batch only (a call always makes progress), then returns.
        await using var host = await CreateSutAsync(laneBudget: "00:00:00");
        var run = NewRun();
        var urls = Pages(server.HostUris[0], run, 12, _ => 0);
        var ticket = await SubmitAsync(host, run, urls, new CrawlJobOptions { BatchSize = 4 });
        var plan = await host.Provider.GetRequiredService<ICrawlActivities>().PlanAsync(ticket, CancellationToken.None);
        Assert.Equal([new LaneRun(3, 1)], plan.Lanes);
        var activities = host.Provider.GetRequiredService<ICrawlActivities>();
        var lane = new LaneWork(run, 0, 3, 0, plan.BatchesPerShard, plan.PlanId);

        var first = await activities.FetchLaneAsync(lane, null, CancellationToken.None);

        Assert.Equal((1, 1, 4L), (first.NextBatch, first.Stats.Batches, first.Stats.Urls));
        Assert.Equal([0], await CommittedAsync(host, run, 3));
        Assert.Equal(4, server.Load(run, "127.0.0.1").Arrivals.Count);

        var second = await activities.FetchLaneAsync(lane with { FromBatch = first.NextBatch }, null, CancellationToken.None);
        var third = await activities.FetchLaneAsync(lane with { FromBatch = second.NextBatch }, null, CancellationToken.None);
        // A retried call (the same input again) reads its committed batch back instead of fetching it.
        var retried = await activities.FetchLaneAsync(lane with { FromBatch = second.NextBatch }, null, CancellationToken.None);

        Assert.Equal((2, 3), (second.NextBatch, third.NextBatch));
        Assert.Equal([0, 1, 2], await CommittedAsync(host, run, 3));
        Assert.Equal((3, 4L), (retried.NextBatch, retried.Stats.Urls));
        Assert.Equal(12, server.Load(run, "127.0.0.1").Arrivals.Count);
        Assert.All(urls, url => Assert.Equal(1, server.Hits(new Uri(url).AbsolutePath)));
    }

    [Fact]
    public async Task RunAsync_LaneOfManyCalls_FetchesEachUrlOnceAndSummarisesEveryBatch()
    {
        await using var server = await LoopbackServer.StartAsync(hosts: 2);
        await using var host = await CreateSutAsync(laneBudget: "00:00:00");
        var run = NewRun();
        // Two hosts of 15 pages in batches of 4: lanes, each a stream of one-batch calls.
        var urls = Pages(server.HostUris[0], run, 15, _ => 5).Concat(Pages(server.HostUris[1], run, 15, _ => 5, first: 100)).ToList();
        var ticket = await SubmitAsync(host, run, urls, new CrawlJobOptions { BatchSize = 4, MaxConcurrencyPerHost = 2 });

        var summary = await host.Provider.GetRequiredService<ICrawlRunner>().RunAsync(ticket, null, CancellationToken.None);

        Assert.Equal((30L, 30L), (summary.Total, summary.Succeeded));
        Assert.All(urls, url => Assert.Equal(1, server.Hits(new Uri(url).AbsolutePath)));
        Assert.InRange(server.Load(run, "127.0.0.1").Peak, 1, 2);
        Assert.InRange(server.Load(run, "127.0.0.2").Peak, 1, 2);
    }
}
