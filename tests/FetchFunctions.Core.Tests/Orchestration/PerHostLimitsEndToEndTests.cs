using System.Globalization;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Orchestration;

/// <summary>Per-host limits over whole jobs of several batches: intake, the in-process runner (the orchestration logic
/// the Durable orchestrators run, shards included), the real engine, Azurite, and a loopback server on several
/// addresses that records what each host saw.</summary>
public sealed class PerHostLimitsEndToEndTests
{
    private static Task<EngineHost> CreateSutAsync() => EngineHost.StartAsync(new Dictionary<string, string?>
    {
        // Two batches per shard: a host's lane of batches crosses shards, so shards must keep it too.
        ["Crawl:BatchesPerShard"] = "2",
        ["Crawl:MaxUrls"] = "1000",
        ["Crawl:MaxInlineUrls"] = "1000",
    });

    private static string NewRun() => $"ph{Guid.NewGuid():N}"[..14];

    /// <summary>One fetch of every host first, so the first request of the job is not held up by the first-call costs of
    /// the client and the server (which would bunch the server's first arrivals together).</summary>
    private static async Task WarmUpAsync(EngineHost host, LoopbackServer server)
    {
        foreach (var uri in server.HostUris)
        {
            Assert.Equal(200, (await host.FetchAsync(new Uri(uri, "polite/warmup/0/0"))).StatusCode);
        }
    }

    private static async Task<CrawlSummaryLite> RunAsync(EngineHost host, string run, IEnumerable<string> urls, CrawlJobOptions options)
    {
        var submitted = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(
            new CrawlJobRequest { JobId = run, Urls = [.. urls], Options = options }, CancellationToken.None);
        var ticket = submitted.Ticket ?? throw new InvalidOperationException(string.Join("; ", submitted.Problems));
        var summary = await host.Provider.GetRequiredService<ICrawlRunner>().RunAsync(ticket, null, CancellationToken.None);
        return new CrawlSummaryLite(summary.Total, summary.Succeeded, summary.Batches);
    }

    private sealed record CrawlSummaryLite(long Total, long Succeeded, long Batches);

    private static IEnumerable<string> Pages(Uri host, string run, int count, int holdMs) =>
        Enumerable.Range(0, count).Select(i => new Uri(host, string.Create(CultureInfo.InvariantCulture, $"polite/{run}/{i}/{holdMs}")).AbsoluteUri);

    [Fact]
    public async Task RunAsync_OneHostOverManyBatches_NeverMoreInFlightThanItsLimit()
    {
        await using var server = await LoopbackServer.StartAsync(hosts: 1);
        await using var host = await CreateSutAsync();

        // 60 URLs in batches of 10: 6 batches (3 shards) of one host, 8 batches allowed in flight, 2 fetches per host.
        await WarmUpAsync(host, server);
        var run = NewRun();
        var summary = await RunAsync(host, run, Pages(server.HostUris[0], run, 60, holdMs: 40),
            new CrawlJobOptions { BatchSize = 10, MaxBatchesInFlight = 8, MaxConcurrencyPerHost = 2 });

        Assert.Equal((60, 60, 6), (summary.Total, summary.Succeeded, summary.Batches));
        var load = server.Load(run, "127.0.0.1");
        Assert.Equal(60, load.Arrivals.Count);
        // The limit was reached (the requests overlapped) and never passed, across all six batches.
        Assert.Equal(2, load.Peak);
    }

    [Fact]
    public async Task RunAsync_OneHostWithDelayOverManyBatches_NeverStartsTwoRequestsCloserThanTheDelay()
    {
        await using var server = await LoopbackServer.StartAsync(hosts: 1);
        await using var host = await CreateSutAsync();
        const int delayMs = 300;

        // 12 URLs in batches of 4: 3 batches (2 shards) of one host.
        await WarmUpAsync(host, server);
        var run = NewRun();
        var summary = await RunAsync(host, run, Pages(server.HostUris[0], run, 12, holdMs: 0),
            new CrawlJobOptions { BatchSize = 4, MaxBatchesInFlight = 8, MaxConcurrencyPerHost = 4, PerHostDelayMilliseconds = delayMs });

        Assert.Equal((12, 12, 3), (summary.Total, summary.Succeeded, summary.Batches));
        var arrivals = server.Load(run, "127.0.0.1").Arrivals;
        Assert.Equal(12, arrivals.Count);
        var gaps = arrivals.Zip(arrivals.Skip(1), (a, b) => (b - a).TotalMilliseconds).ToList();
        // The client spaces its starts by the full delay; what the server sees may differ by the jitter of getting a
        // request from client to handler on a busy machine, never by a whole delay. Without the job-wide rule, the three
        // batches run at once and start requests microseconds apart.
        Assert.All(gaps, gap => Assert.True(gap >= delayMs * 2 / 3, $"two requests {gap:0.0} ms apart: {string.Join(", ", gaps.Select(g => g.ToString("0", CultureInfo.InvariantCulture)))}"));
        // And with the delay far above a request's duration, the host never saw two requests at once.
        Assert.Equal(1, server.Load(run, "127.0.0.1").Peak);
    }

    [Fact]
    public async Task RunAsync_ManyHosts_KeepsEachHostsLimitAndExceedsOneHostsLimitInTotal()
    {
        const int hosts = 6;
        await using var server = await LoopbackServer.StartAsync(hosts);
        await using var host = await CreateSutAsync();

        // 4 fetches per batch, 2 per host: lanes of 2 hosts each, 3 lanes of 5 batches (24 URLs in batches of 5), all in flight.
        await WarmUpAsync(host, server);
        var run = NewRun();
        var urls = Enumerable.Range(0, hosts).SelectMany(h => Pages(server.HostUris[h], run, 12, holdMs: 60)).ToList();
        var summary = await RunAsync(host, run, urls,
            new CrawlJobOptions { BatchSize = 5, MaxBatchesInFlight = 8, MaxConcurrency = 4, MaxConcurrencyPerHost = 2 });

        Assert.Equal((72, 72, 15), (summary.Total, summary.Succeeded, summary.Batches));
        for (var h = 1; h <= hosts; h++)
        {
            var load = server.Load(run, $"127.0.0.{h}");
            Assert.Equal(12, load.Arrivals.Count);
            Assert.InRange(load.Peak, 1, 2);
        }

        // Hosts share batches and lanes run beside each other: the job as a whole went past one host's limit.
        Assert.InRange(server.Load(run, "*").Peak, 3, hosts * 2);
    }
}
