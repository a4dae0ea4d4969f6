using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Discovery;

/// <summary>Round 0 of a job that follows sitemaps: for each seed origin (the first <see cref="MaxOrigins"/>), the
/// sitemaps its robots.txt names, else /sitemap.xml, walked (<see cref="SitemapWalker"/>) with fetches through the engine:
/// the SSRF guard on every hop, the origin's robots.txt obeyed, one request at a time and at most one per origin per
/// its delay. The URLs found become depth-0 pages (<see cref="Frontier.WriteSitemapRoundAsync"/>).</summary>
internal sealed class SitemapHarvester(IFetchEngine engine, JobHosts jobHosts, Frontier frontier, IOptions<FetchOptions> fetchOptions,
    IOptions<CrawlOptions> crawlOptions, TimeProvider timeProvider)
{
    /// <summary>Seed origins whose sitemaps are looked for: as many as the sitemap files a job reads at most.</summary>
    public const int MaxOrigins = SitemapWalker.MaxSitemaps;

    private static readonly StatusSet SuccessOnly = StatusSet.Parse(["200-299"]);

    public async Task<RoundStats> HarvestAsync(StoredJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (await frontier.ReadStatsAsync(job.JobId, 0, cancellationToken).ConfigureAwait(false) is { } done)
        {
            return done;
        }

        var discovery = job.Settings.Discovery ?? throw new InvalidOperationException($"Job '{job.JobId}' does not discover links.");
        var crawl = crawlOptions.Value;
        var (scope, seen) = await frontier.LoadSeedsAsync(job, cancellationToken).ConfigureAwait(false);
        var policy = CrawlActivities.PolicyFor(job.Settings, fetchOptions.Value);
        // A sitemap file may be up to 50 MiB uncompressed; the reader stops there whatever the Content-Length says.
        var sitemapPolicy = policy with { StoreStatuses = SuccessOnly, MaxBodyBytes = Math.Max(policy.MaxBodyBytes, SitemapReader.MaxUncompressedBytes) };
        var hosts = jobHosts.Open(job.JobId, policy, Math.Min(job.Settings.MaxConcurrencyPerHost, crawl.MaxConcurrencyPerHost));
        var delay = job.Settings.PerHostDelay > crawl.PerHostDelay ? job.Settings.PerHostDelay : crawl.PerHostDelay;
        var lastStart = new Dictionary<string, long>(StringComparer.Ordinal);

        var roots = new List<Uri>();
        foreach (var origin in await frontier.SeedOriginsAsync(job, MaxOrigins, cancellationToken).ConfigureAwait(false))
        {
            var host = await hosts.GetAsync(origin, cancellationToken).ConfigureAwait(false);
            roots.AddRange(SitemapWalker.Roots(new Uri(origin + "/"), host.Record.Sitemaps ?? []));
        }

        var walker = new SitemapWalker(FetchAsync, crawl.MaxUrlLength, crawl.AllowedPorts);
        var room = (int)Math.Clamp(discovery.MaxPages - (long)job.UrlCount, 0, int.MaxValue);
        var harvest = await walker.WalkAsync(roots, discovery, scope, seen, room, cancellationToken).ConfigureAwait(false);
        await hosts.SaveAsync(cancellationToken).ConfigureAwait(false);
        return await frontier.WriteSitemapRoundAsync(job, harvest, seen, cancellationToken).ConfigureAwait(false);

        async Task<SitemapDocument?> FetchAsync(Uri url, CancellationToken token)
        {
            var origin = HostPoliteness.OriginOf(url.AbsoluteUri);
            var host = await hosts.GetAsync(origin, token).ConfigureAwait(false);
            if (host.DisallowReason(url) is not null)
            {
                return null;
            }

            var wait = lastStart.TryGetValue(origin, out var last) ? host.DelayAtLeast(delay) - timeProvider.GetElapsedTime(last) : TimeSpan.Zero;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, timeProvider, token).ConfigureAwait(false);
            }

            lastStart[origin] = timeProvider.GetTimestamp();
            var sink = new SitemapBodySink();
            var result = await engine.FetchAsync(new FetchRequest(url, "sitemap", sitemapPolicy, sink), token).ConfigureAwait(false);
            host.Throttle.Record(result.StatusCode);
            return result.ErrorKind is null ? sink.Document : null;
        }
    }

    /// <summary>Reads a sitemap file as it arrives instead of storing it.</summary>
    private sealed class SitemapBodySink : IRecordSink
    {
        public SitemapDocument? Document { get; private set; }

        public bool RecordsExchanges => false;

        public async Task<BodyLocation?> StoreAsync(RecordWrite write, BodyMeterStream body, CancellationToken cancellationToken)
        {
            Document = await SitemapReader.ReadAsync(body, cancellationToken).ConfigureAwait(false);
            return null;
        }

        public Task RecordHopAsync(RecordWrite hop, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DeleteAsync(string blobName, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
