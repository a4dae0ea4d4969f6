using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>Crawls of <see cref="FullSiteGraph"/> through the in-process runner (the same orchestration logic as the
/// Durable one), the real engine, lanes, WARC store and frontier on Azurite, and what the tests read back.</summary>
internal static class FullSiteCrawl
{
    public static async Task<(EngineHost Host, SiteGraph Site)> StartAsync(Action<SiteGraph>? change = null,
        IDictionary<string, string?>? settings = null)
    {
        var site = await SiteGraph.StartAsync();
        FullSiteGraph.Build(site);
        change?.Invoke(site);
        var all = FullSiteGraph.Settings();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return (await EngineHost.StartAsync(all), site);
    }

    /// <summary>Runs a job of <paramref name="seeds"/> (keys such as "{site}/") with <paramref name="crawl"/> through the
    /// in-process runner; returns its summary and result rows.</summary>
    public static Task<(CrawlSummary Summary, List<UrlResult> Results)> CrawlAsync(EngineHost host, SiteGraph site, CrawlDiscoveryOptions crawl,
        params string[] seeds) => CrawlAsync(host, site, crawl, null, $"fg-{Guid.NewGuid():N}", seeds);

    public static async Task<(CrawlSummary Summary, List<UrlResult> Results)> CrawlAsync(EngineHost host, SiteGraph site, CrawlDiscoveryOptions crawl,
        CrawlJobOptions? options, string jobId, params string[] seeds)
    {
        var submitted = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
        {
            JobId = jobId,
            Urls = seeds.Length == 0 ? [site.Site.AbsoluteUri] : [.. seeds.Select(site.Expand)],
            Crawl = crawl,
            Options = options,
        }, CancellationToken.None);
        Assert.True(submitted.Accepted, string.Join("; ", submitted.Problems));
        var summary = await host.Provider.GetRequiredService<ICrawlRunner>().RunAsync(submitted.Ticket!, null, CancellationToken.None);
        return (summary, await host.ResultsAsync(jobId));
    }

    /// <summary>The pages the site saw (robots.txt left out), sorted.</summary>
    public static string[] Pages(SiteGraph site) =>
        [.. site.Requests.Where(r => !r.EndsWith("/robots.txt", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    /// <summary>A result row by its key ("{site}/a").</summary>
    public static UrlResult Row(SiteGraph site, IEnumerable<UrlResult> results, string key) =>
        Assert.Single(results, r => r.Url == site.Expand(key));

    /// <summary>Compact form of a row's place in the crawl, for literal comparisons: "depth foundOn-key".</summary>
    public static string Place(SiteGraph site, UrlResult row) =>
        $"{row.Depth} {Unexpand(site, row.FoundOn)}";

    public static string? Unexpand(SiteGraph site, string? url) => url?
        .Replace(site.Site.AbsoluteUri.TrimEnd('/'), "{site}", StringComparison.Ordinal)
        .Replace(site.Other.AbsoluteUri.TrimEnd('/'), "{other}", StringComparison.Ordinal)
        .Replace(site.Third.AbsoluteUri.TrimEnd('/'), "{third}", StringComparison.Ordinal);
}
