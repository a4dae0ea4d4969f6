using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>The discovery parts together on a real loopback site, through the real engine and the frontier on Azurite:
/// a small driver stands in for the batches and the orchestration (not wired yet), one batch per round. The capture sits
/// in a sink of the test's own, since the engine does not wrap bodies for it yet.</summary>
public sealed class DiscoveryEndToEndTests
{
    internal static void Build(SiteGraph site)
    {
        site.Pages["{site}/"] = """
            <a href="/a">a</a> <a href="/b#frag">b</a> <a href="a">dup</a> <a href="/nofollowed" rel="nofollow">n</a>
            <a href="{other}/off">other host</a> <a href="http://10.0.0.1/blocked">blocked address</a> <a href="mailto:x@site">m</a>
            <a href="/redirect-in">in</a> <a href="/redirect-out">out</a> <a href="/cal/1">calendar</a> <a href="/meta">meta</a>
            """;
        site.Pages["{site}/a"] = """<a href="/">home</a> <a href="/b">b</a> <a href="/c">c</a> <a href="/a/deep">deep</a>""";
        site.Pages["{site}/b"] = """<base href="/sub/"><a href="x">x</a>""";
        site.Pages["{site}/redirect-in"] = "redirect:/c";
        site.Pages["{site}/c"] = """<a href="/d">d</a>""";
        site.Pages["{site}/redirect-out"] = "redirect:{other}/landing";
        site.Pages["{other}/landing"] = """<a href="{site}/from-off">back</a>""";
        site.Pages["{site}/meta"] = """<meta name="robots" content="nofollow"><a href="/never">never</a>""";
        site.Pages["{site}/a/deep"] = """<a href="/deeper">deeper</a>""";
        site.Pages["{site}/sub/x"] = """<a href="/deeper">deeper</a>""";
        site.Pages["{site}/d"] = """<a href="/deeper">deeper</a>""";
    }

    private static async Task<(EngineHost Host, SiteGraph Site)> CreateSutAsync()
    {
        var site = await SiteGraph.StartAsync();
        Build(site);
        return (await EngineHost.StartAsync(), site);
    }

    /// <summary>Seeds at depth 0, then each round's URLs, until maxDepth; returns the rounds' stats.</summary>
    private static async Task<List<RoundStats>> CrawlAsync(EngineHost host, SiteGraph site, int maxDepth)
    {
        var jobId = $"e2e-{Guid.NewGuid():N}";
        var submitted = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
        {
            JobId = jobId, Urls = [site.Site.AbsoluteUri], Crawl = new CrawlDiscoveryOptions { MaxDepth = maxDepth },
        }, CancellationToken.None);
        Assert.True(submitted.Accepted, string.Join("; ", submitted.Problems));
        var store = host.Provider.GetRequiredService<JobStore>();
        var frontier = host.Provider.GetRequiredService<Frontier>();
        var job = await store.ReadJobAsync(submitted.Ticket!.JobBlobName, CancellationToken.None);
        var extractor = new HtmlLinkExtractor(2048, []);
        List<string> round = [site.Site.AbsoluteUri];
        var stats = new List<RoundStats>();
        for (var depth = 0; ; depth++)
        {
            using (var log = new LinkLogWriter(store.CreateTextWriter(FrontierBlobNames.Links(jobId, depth))))
            {
                foreach (var url in round)
                {
                    using var capture = new PageLinkCapture(extractor, log, job.Settings.Discovery!, depth, 64 * 1024, 2048, []);
                    var result = await host.Engine.FetchAsync(new FetchRequest(new Uri(url), BlobNames.Body(jobId, new Uri(url)), host.DefaultPolicy,
                        new CapturingSink(capture)), CancellationToken.None);
                    if (result.Sha256 is not null)
                    {
                        await capture.CompleteAsync(url, new Uri(result.FinalUrl!), result.ContentType, null, CancellationToken.None);
                    }
                }

                await log.CommitAsync(CancellationToken.None);
            }

            if (depth == maxDepth)
            {
                return stats;
            }

            stats.Add(await frontier.PlanNextRoundAsync(job, new RoundWork(jobId, depth, depth, 1), CancellationToken.None));
            round = [];
            await foreach (var (url, _) in frontier.ReadRoundAsync(jobId, depth + 1, CancellationToken.None))
            {
                round.Add(url);
            }
        }
    }

    private static string[] Expected(SiteGraph site, params string[] paths) =>
        [.. paths.Select(p => site.Expand(p).Replace("http://", string.Empty, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Crawl_DepthTwo_RequestsExactlyTheInScopePagesToDepthTwoEachOnce()
    {
        var (host, site) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = site;

        var stats = await CrawlAsync(host, site, maxDepth: 2);

        Assert.Equal(Expected(site,
                "{site}/",
                "{site}/a", "{site}/b", "{site}/redirect-in", "{site}/c", "{site}/redirect-out", "{other}/landing", "{site}/cal/1", "{site}/meta",
                "{site}/a/deep", "{site}/sub/x", "{site}/d", "{site}/cal/2"),
            site.Requests.Order(StringComparer.Ordinal));
        Assert.Equal([6, 4], stats.Select(s => s.Planned));
        Assert.Equal((1L, 2L), (stats[0].Nofollow, stats[0].OutOfScope));
        Assert.Equal(1L, stats[1].Nofollow);
        // /landing was reached by a redirect out of scope: its link back in is out of scope too.
        Assert.Equal(1L, stats[1].OutOfScope);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 9)] // the seed, six pages at depth 1, and the targets of two redirects
    public async Task Crawl_LowerDepth_StopsThere(int maxDepth, int requests)
    {
        var (host, site) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = site;

        await CrawlAsync(host, site, maxDepth);

        Assert.Equal(requests, site.Requests.Count);
        Assert.Equal(site.Requests.Count, site.Requests.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(site.Requests, r => r.EndsWith("/cal/2", StringComparison.Ordinal));
    }

    /// <summary>Reads the body through the page's capture, as the engine will under its meter; stores nothing.</summary>
    private sealed class CapturingSink(PageLinkCapture capture) : IRecordSink
    {
        public bool RecordsExchanges => false;

        public async Task<BodyLocation?> StoreAsync(RecordWrite write, BodyMeterStream body, CancellationToken cancellationToken)
        {
            await capture.Wrap(body, write.Status, write.ContentType).CopyToAsync(Stream.Null, cancellationToken);
            return null;
        }

        public Task RecordHopAsync(RecordWrite hop, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DeleteAsync(string blobName, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
