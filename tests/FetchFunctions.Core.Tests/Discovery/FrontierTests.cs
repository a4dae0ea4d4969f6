using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class FrontierTests
{
    private const string Site = "https://site.example";

    private static async Task<(Frontier Sut, EngineHost Host, StoredJob Job)> CreateSutAsync(CrawlDiscoveryOptions crawl, params string[] seeds)
    {
        var host = await EngineHost.StartAsync();
        var jobId = $"frontier-{Guid.NewGuid():N}";
        var submitted = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(
            new CrawlJobRequest { JobId = jobId, Urls = seeds, Crawl = crawl }, CancellationToken.None);
        Assert.True(submitted.Accepted, string.Join("; ", submitted.Problems));
        var job = await host.Provider.GetRequiredService<JobStore>().ReadJobAsync(submitted.Ticket!.JobBlobName, CancellationToken.None);
        return (host.Provider.GetRequiredService<Frontier>(), host, job);
    }

    private static LoggedPage Page(string url, int depth, params string[] links) => Redirected(url, null, depth, links);

    /// <summary>Links are written as the log writes them: "+url" to follow, "-url" nofollow.</summary>
    private static LoggedPage Redirected(string url, string? finalUrl, int depth, params string[] links) =>
        new(url, depth, finalUrl, new PageLinks([.. links.Select(l => new ExtractedLink(l[1..], l[0] == '-'))], false, 0, 0, false));

    private static async Task WriteLogAsync(EngineHost host, string jobId, int batch, params LoggedPage[] pages)
    {
        using var writer = new LinkLogWriter(host.Provider.GetRequiredService<JobStore>().CreateTextWriter(FrontierBlobNames.Links(jobId, batch)));
        foreach (var page in pages)
        {
            await writer.AddAsync(page, CancellationToken.None);
        }

        await writer.CommitAsync(CancellationToken.None);
    }

    private static async Task<List<(string Url, string FoundOn)>> RoundAsync(Frontier sut, string jobId, int depth)
    {
        var round = new List<(string, string)>();
        await foreach (var entry in sut.ReadRoundAsync(jobId, depth, CancellationToken.None))
        {
            round.Add(entry);
        }

        return round;
    }

    [Fact]
    public async Task PlanNextRoundAsync_LinksOfARound_PlansEachNewInScopeUrlOnceWithThePageItWasFoundOn()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions { MaxDepth = 2 }, $"{Site}/", $"{Site}/a");
        await using var _ = host;
        await WriteLogAsync(host, job.JobId, 0,
            Page($"{Site}/", 0, $"+{Site}/a", $"+{Site}/b", $"-{Site}/n", "+https://off.example/x"),
            Page($"{Site}/a", 0, $"+{Site}/b", $"+{Site}/c", $"+{Site}/"));

        var stats = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 3), CancellationToken.None);

        Assert.Equal([($"{Site}/b", $"{Site}/"), ($"{Site}/c", $"{Site}/a")], await RoundAsync(sut, job.JobId, 1));
        Assert.Equal(new RoundStats
        {
            Depth = 1, Planned = 2, PlannedInJob = 4, PagesRead = 2, LinksFound = 7, OutOfScope = 1, Excluded = 0, Duplicates = 3, Nofollow = 1,
            TooDeep = 0, OverMaxPages = 0, Unusable = 0,
        }, stats);
    }

    [Fact]
    public async Task PlanNextRoundAsync_NextRound_DedupsAgainstEveryEarlierRoundAndStopsAtMaxDepth()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions { MaxDepth = 2 }, $"{Site}/");
        await using var _ = host;
        await WriteLogAsync(host, job.JobId, 0, Page($"{Site}/", 0, $"+{Site}/b"));
        await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);
        await WriteLogAsync(host, job.JobId, 1, Page($"{Site}/b", 1, $"+{Site}/", $"+{Site}/b", $"+{Site}/d"));

        var second = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 1, 1, 1), CancellationToken.None);
        await WriteLogAsync(host, job.JobId, 2, Page($"{Site}/d", 2, $"+{Site}/e"));
        var third = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 2, 2, 1), CancellationToken.None);

        Assert.Equal([($"{Site}/d", $"{Site}/b")], await RoundAsync(sut, job.JobId, 2));
        Assert.Equal((1, 2, 3L), (second.Planned, (int)second.Duplicates, second.PlannedInJob));
        Assert.Equal((0, 1L), (third.Planned, third.TooDeep));
    }

    [Fact]
    public async Task PlanNextRoundAsync_RedirectedPage_ItsFinalUrlCountsAsSeenAndLinksResolveFromIt()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions { MaxDepth = 1 }, $"{Site}/", $"{Site}/old");
        await using var _ = host;
        // The page linking to the redirect's target comes first in the log: the target is still not planned again.
        await WriteLogAsync(host, job.JobId, 0,
            Page($"{Site}/", 0, $"+{Site}/new", $"+{Site}/x"),
            Redirected($"{Site}/old", $"{Site}/new", 0, $"+{Site}/y"));

        var stats = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);

        Assert.Equal([($"{Site}/x", $"{Site}/"), ($"{Site}/y", $"{Site}/new")], await RoundAsync(sut, job.JobId, 1));
        Assert.Equal(1, stats.Duplicates);
    }

    [Fact]
    public async Task PlanNextRoundAsync_PageRedirectedOutOfScope_ItsLinksAreOutOfScope()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions { MaxDepth = 1 }, $"{Site}/away");
        await using var _ = host;
        await WriteLogAsync(host, job.JobId, 0, Redirected($"{Site}/away", "https://off.example/landing", 0, $"+{Site}/from-off"));

        var stats = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);

        Assert.Equal((0, 1L), (stats.Planned, stats.OutOfScope));
    }

    [Fact]
    public async Task PlanNextRoundAsync_MaxPages_CapsThePagesOfTheWholeJobExactly()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions { MaxDepth = 3, MaxPages = 4 }, $"{Site}/", $"{Site}/a");
        await using var _ = host;
        await WriteLogAsync(host, job.JobId, 0, Page($"{Site}/", 0, $"+{Site}/1", $"+{Site}/2", $"+{Site}/3", $"+{Site}/1"));

        var first = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);
        await WriteLogAsync(host, job.JobId, 1, Page($"{Site}/1", 1, $"+{Site}/3", $"+{Site}/4"));
        var second = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 1, 1, 1), CancellationToken.None);

        Assert.Equal([($"{Site}/1", $"{Site}/"), ($"{Site}/2", $"{Site}/")], await RoundAsync(sut, job.JobId, 1));
        Assert.Equal((2, 4L, 1L, 1L), (first.Planned, first.PlannedInJob, first.OverMaxPages, first.Duplicates));
        // /3 was over the budget, not planned: it is counted over maxPages again, not as a duplicate.
        Assert.Equal((0, 4L, 2L, 0L), (second.Planned, second.PlannedInJob, second.OverMaxPages, second.Duplicates));
    }

    [Fact]
    public async Task PlanNextRoundAsync_PlannedRound_IsReadBackNotPlannedAgain()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions { MaxDepth = 1 }, $"{Site}/");
        await using var _ = host;
        await WriteLogAsync(host, job.JobId, 0, Page($"{Site}/", 0, $"+{Site}/a"));
        var first = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);

        // A log changed after planning (it cannot be, batches commit once) would show if the round were planned again.
        await WriteLogAsync(host, job.JobId, 0, Page($"{Site}/", 0, $"+{Site}/a", $"+{Site}/b"));
        var again = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);

        Assert.Equal(first, again);
        Assert.Equal([($"{Site}/a", $"{Site}/")], await RoundAsync(sut, job.JobId, 1));
    }

    [Fact]
    public async Task PlanNextRoundAsync_ScopePatternsAndNofollowOff_AreApplied()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions
        {
            MaxDepth = 1, Scope = ["prefix"], Exclude = ["*/docs/old/*"], RespectNofollow = false,
        }, $"{Site}/docs/index.html");
        await using var _ = host;
        await WriteLogAsync(host, job.JobId, 0, Page($"{Site}/docs/index.html", 0,
            $"-{Site}/docs/nofollowed", $"+{Site}/docs/old/page", $"+{Site}/blog/", $"+{Site}/docs/new"));

        var stats = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);

        Assert.Equal([$"{Site}/docs/nofollowed", $"{Site}/docs/new"], (await RoundAsync(sut, job.JobId, 1)).Select(r => r.Url));
        Assert.Equal((1L, 1L, 0L), (stats.Excluded, stats.OutOfScope, stats.Nofollow));
    }

    [Fact]
    public async Task WriteSitemapRoundAsync_SitemapUrls_AreDepthZeroAndSeenByTheNextRound()
    {
        var (sut, host, job) = await CreateSutAsync(new CrawlDiscoveryOptions { MaxDepth = 1, FollowSitemaps = true, MaxPages = 10 }, $"{Site}/");
        await using var _ = host;
        var (scope, seen) = await sut.LoadSeedsAsync(job, CancellationToken.None);
        var sitemap = System.Text.Encoding.UTF8.GetBytes(SitemapReaderTests.UrlSet([$"{Site}/", $"{Site}/listed", "https://off.example/"]));
        var walker = new SitemapWalker((_, token) => SitemapReader.ReadAsync(new MemoryStream(sitemap), token)!, 2048, []);
        var harvest = await walker.WalkAsync([new Uri($"{Site}/sitemap.xml")], job.Settings.Discovery!, scope, seen, 9, CancellationToken.None);

        var sitemaps = await sut.WriteSitemapRoundAsync(job, harvest, seen, CancellationToken.None);
        await WriteLogAsync(host, job.JobId, 0, Page($"{Site}/", 0, $"+{Site}/listed", $"+{Site}/linked"));
        var next = await sut.PlanNextRoundAsync(job, new RoundWork(job.JobId, 0, 0, 1), CancellationToken.None);

        Assert.Equal([($"{Site}/listed", $"{Site}/sitemap.xml")], await RoundAsync(sut, job.JobId, 0));
        Assert.Equal((0, 1, 2L, 1L, 1L), (sitemaps.Depth, sitemaps.Planned, sitemaps.PlannedInJob, sitemaps.OutOfScope, sitemaps.Duplicates));
        Assert.Equal([($"{Site}/linked", $"{Site}/")], await RoundAsync(sut, job.JobId, 1));
        Assert.Equal((1, 3L, 1L), (next.Planned, next.PlannedInJob, next.Duplicates));
    }
}
