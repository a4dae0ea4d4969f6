using System.Text.Json;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Robots;

/// <summary>Whole jobs against a loopback site of their own (so robots.txt is the test's), real engine and Azurite:
/// what the server saw is the proof.</summary>
public sealed class RobotsJobTests
{
    private static Task<EngineHost> CreateSutAsync(Dictionary<string, string?>? settings = null) => EngineHost.StartAsync(settings);

    private static async Task<(CrawlSummary Summary, List<UrlResult> Results)> RunAsync(EngineHost host, IReadOnlyList<string> urls, CrawlJobOptions options,
        string? jobId = null)
    {
        var intake = host.Provider.GetRequiredService<ICrawlIntake>();
        var runner = host.Provider.GetRequiredService<ICrawlRunner>();
        jobId ??= $"robots{Guid.NewGuid():N}"[..16];
        var submitted = await intake.SubmitAsync(new CrawlJobRequest { JobId = jobId, Urls = urls, Options = options }, CancellationToken.None);
        Assert.True(submitted.Ticket is not null, "the job was accepted");
        var summary = await runner.RunAsync(submitted.Ticket!, null, CancellationToken.None);
        return (summary, await host.ResultsAsync(jobId));
    }

    private static async Task<HostRecord> HostRecordAsync(EngineHost host, string jobId, LoopbackServer server) =>
        JsonSerializer.Deserialize(await host.DownloadAsync(JobHosts.BlobName(jobId, server.BaseUri.GetLeftPart(UriPartial.Authority))),
            RobotsJsonContext.Default.HostRecord)!;

    private static List<string> Pages(LoopbackServer server, string folder, int count) =>
        [.. Enumerable.Range(0, count).Select(i => server.Url($"/site/{folder}/{i}?q={i}").AbsoluteUri)];

    [Fact]
    public async Task RunAsync_DisallowedPaths_AreNeverRequestedAndRobotsTxtIsReadOncePerJob()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /site/private/\n\nUser-agent: OtherBot\nDisallow: /\n");
        await using var host = await CreateSutAsync();
        var jobId = $"once{Guid.NewGuid():N}"[..16];
        var open = Pages(server, "public", 6);
        var closed = Pages(server, "private", 3);

        // Five batches one after another, then batch 0 once more, as a retried activity would run it.
        var (summary, results) = await RunAsync(host, [.. open, .. closed], new CrawlJobOptions { BatchSize = 2, MaxBatchesInFlight = 1 }, jobId);
        var retried = (await host.Provider.GetRequiredService<ICrawlActivities>().FetchLaneAsync(
            new LaneWork(jobId, 0, 1, 0, host.Provider.GetRequiredService<IOptions<CrawlOptions>>().Value.BatchesPerShard, PlanId: null), null,
            CancellationToken.None)).Stats;

        Assert.Equal(5, summary.Batches);
        Assert.Equal(1, server.Hits("/robots.txt"));
        Assert.Equal("/robots.txt", server.Requests[0].Path);
        Assert.DoesNotContain(server.Requests, r => r.Path.StartsWith("/site/private/", StringComparison.Ordinal));
        // Every allowed page, and batch 0's two once more for the retry.
        Assert.All(open, url => Assert.InRange(server.Hits(new Uri(url).AbsolutePath), 1, 2));
        Assert.Equal(6 + 2, open.Sum(url => server.Hits(new Uri(url).AbsolutePath)));
        var disallowed = results.Where(r => r.ErrorKind == FetchErrorKind.DisallowedByRobots).ToList();
        Assert.Equal(closed.Order(StringComparer.Ordinal), disallowed.Select(r => r.Url).Order(StringComparer.Ordinal));
        Assert.All(disallowed, r => Assert.Equal((false, 0, (int?)null), (r.Started, r.Attempts, r.Status)));
        Assert.All(disallowed, r => Assert.Contains("\"Disallow: /site/private/\"", r.Error, StringComparison.Ordinal));
        Assert.All(disallowed, r => Assert.DoesNotContain("?q=", r.Error, StringComparison.Ordinal));
        Assert.Equal(3, summary.ErrorKinds[nameof(FetchErrorKind.DisallowedByRobots)]);
        Assert.Equal(6, summary.Succeeded);
        Assert.Equal(2, retried.Urls);
        var record = await HostRecordAsync(host, jobId, server);
        Assert.Equal(RobotsOutcome.Parsed, record.Robots);
        Assert.Equal([new RobotsRule(false, "/site/private/")], record.Rules);
    }

    [Fact]
    public async Task RunAsync_RedirectToADisallowedPathOfAnotherOrigin_IsNotFollowed()
    {
        await using var server = await LoopbackServer.StartAsync();
        await using var other = await LoopbackServer.StartAsync();
        other.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /site/private/\n");
        await using var host = await CreateSutAsync();
        var closed = other.Url("/site/private/0").AbsoluteUri;
        var open = other.Url("/site/public/0").AbsoluteUri;

        var (_, results) = await RunAsync(host,
            [server.Url($"/redirect-to?url={Uri.EscapeDataString(closed)}").AbsoluteUri, server.Url($"/redirect-to?url={Uri.EscapeDataString(open)}").AbsoluteUri],
            new CrawlJobOptions());

        // The other origin's robots.txt was read once, for the redirects, and its disallowed page never requested.
        Assert.Equal(1, other.Hits("/robots.txt"));
        Assert.Equal(0, other.Hits("/site/private/0"));
        Assert.Equal(1, other.Hits("/site/public/0"));
        var refused = Assert.Single(results, r => r.ErrorKind == FetchErrorKind.DisallowedByRobots);
        Assert.Equal((closed, 302), (refused.FinalUrl, refused.Status));
        Assert.Contains("\"Disallow: /site/private/\"", refused.Error, StringComparison.Ordinal);
        Assert.Single(results, r => r.Succeeded && r.FinalUrl == open);
    }

    [Fact]
    public async Task RunAsync_RobotsTxtNotFound_FetchesEverything()
    {
        await using var server = await LoopbackServer.StartAsync();
        await using var host = await CreateSutAsync();
        var urls = Pages(server, "private", 4);

        var (summary, _) = await RunAsync(host, urls, new CrawlJobOptions { BatchSize = 2, MaxBatchesInFlight = 1 });

        Assert.Equal(4, summary.Succeeded);
        Assert.Equal(1, server.Hits("/robots.txt"));
        Assert.Equal(5, server.Requests.Count);
    }

    [Fact]
    public async Task RunAsync_RobotsTxtServerError_RequestsNothingElseAndDisallowsEveryUrl()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Robots = new RobotsAnswer(500, "down");
        await using var host = await CreateSutAsync(new() { ["Fetch:MaxRetries"] = "1" });
        var jobId = $"down{Guid.NewGuid():N}"[..16];
        var urls = Pages(server, "public", 5);

        var (summary, results) = await RunAsync(host, urls, new CrawlJobOptions { BatchSize = 2, MaxBatchesInFlight = 1 }, jobId);

        // One fetch of robots.txt with its one retry, and nothing else.
        Assert.Equal(["/robots.txt", "/robots.txt"], server.Requests.Select(r => r.Path));
        Assert.Equal(5, summary.ErrorKinds[nameof(FetchErrorKind.DisallowedByRobots)]);
        Assert.All(results, r => Assert.Contains("unreachable (HTTP 500)", r.Error, StringComparison.Ordinal));
        Assert.Equal(RobotsOutcome.Unreachable, (await HostRecordAsync(host, jobId, server)).Robots);
    }

    [Fact]
    public async Task RunAsync_RespectRobotsTxtOff_FetchesEverythingWithoutAskingForRobotsTxt()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /\n");
        await using var host = await CreateSutAsync(new() { ["Crawl:RespectRobotsTxt"] = "false" });
        var urls = Pages(server, "private", 3);

        var (summary, _) = await RunAsync(host, urls, new CrawlJobOptions());

        Assert.Equal(3, summary.Succeeded);
        Assert.Equal(0, server.Hits("/robots.txt"));
    }

    [Fact]
    public async Task RunAsync_CrawlDelay_SpacesEveryRequestStartOfTheHost()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Robots = new RobotsAnswer(200, "User-agent: FetchFunctions\nCrawl-delay: 1\nDisallow: /nothing\n");
        await using var host = await CreateSutAsync();
        var urls = Pages(server, "public", 4);

        var (summary, _) = await RunAsync(host, urls, new CrawlJobOptions { MaxConcurrencyPerHost = 4 });

        Assert.Equal(4, summary.Succeeded);
        var starts = server.Requests.Select(r => r.At).ToList();
        Assert.Equal(5, starts.Count);
        // The server sees arrivals, not starts: a request that took longer from its start to the wire than its successor
        // (opening a connection on a busy machine) makes a gap look shorter by that difference. Half the delay leaves
        // room for that; without the delay the four pages arrive within milliseconds of each other.
        var gaps = starts.Skip(1).Zip(starts.Skip(2), (a, b) => b - a).ToList();
        Assert.All(gaps, gap => Assert.True(gap >= TimeSpan.FromMilliseconds(500), $"gaps {string.Join(", ", gaps)}"));
    }

    [Fact]
    public async Task RunAsync_HostAnswering503_IsSlowedDownToOneRequestAtATime()
    {
        await using var server = await LoopbackServer.StartAsync();
        await using var host = await CreateSutAsync(new() { ["Fetch:MaxRetries"] = "0" });
        var jobId = $"slow{Guid.NewGuid():N}"[..16];
        var key = jobId;
        var urls = Enumerable.Range(0, 8).Select(i => server.Url($"/hold/{key}/{i}").AbsoluteUri).ToList();

        var job = RunAsync(host, urls, new CrawlJobOptions { MaxConcurrencyPerHost = 4, MaxRetries = 0 }, jobId);
        await Poll.UntilAsync(() => server.InFlight(key) == 4, "four requests in flight");
        for (var answered = 1; answered <= urls.Count; answered++)
        {
            await Poll.UntilAsync(() => server.InFlight(key) > 0, "a request to answer");
            server.ReleaseOne(key);
            await Poll.UntilAsync(() => server.Answered(key) == answered, "the answer");
        }

        var (summary, results) = await job;

        // Four at once before the back-off; after 503s the host gets one request at a time (the fifth started
        // before the second 503 was seen).
        var inFlight = server.InFlightAtArrival(key);
        Assert.Equal([1, 2, 3, 4], inFlight.Take(4));
        Assert.Equal([1, 1, 1], inFlight.Skip(5));
        Assert.All(results, r => Assert.Equal(503, r.Status));
        var stats = Assert.Single(summary.Hosts);
        Assert.Equal((8L, true), (stats.Throttled, stats.Slowed));
        var backoff = (await HostRecordAsync(host, jobId, server)).Backoff;
        Assert.Equal(1, backoff.Concurrency);
        Assert.True(backoff.Delay > TimeSpan.Zero);
    }

    [Fact]
    public async Task RunAsync_BatchesOfOneHostAtOnce_NoneRequestsADisallowedPath()
    {
        await using var server = await LoopbackServer.StartAsync();
        server.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /site/private/\n");
        await using var host = await CreateSutAsync();
        var closed = Pages(server, "private", 8);

        // Eight batches in flight together may each find no host blob yet: each may read robots.txt, all obey it.
        var (summary, results) = await RunAsync(host, [.. Pages(server, "public", 8), .. closed], new CrawlJobOptions { BatchSize = 2, MaxBatchesInFlight = 8 });

        Assert.Equal(8, summary.Batches);
        Assert.InRange(server.Hits("/robots.txt"), 1, 8);
        Assert.DoesNotContain(server.Requests, r => r.Path.StartsWith("/site/private/", StringComparison.Ordinal));
        Assert.Equal(8, summary.ErrorKinds[nameof(FetchErrorKind.DisallowedByRobots)]);
        Assert.Equal(8, summary.Succeeded);
    }
}
