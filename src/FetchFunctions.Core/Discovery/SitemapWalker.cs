using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Discovery;

/// <summary>A URL a sitemap listed (normalised), and the sitemap that listed it.</summary>
internal sealed record SitemapUrl(string Url, string Sitemap);

/// <summary>What the seeds' sitemaps added: new seed URLs (normalised, in scope, not excluded, not already seeds), in the
/// order listed, and what was dropped.</summary>
internal sealed record SitemapHarvest(IReadOnlyList<SitemapUrl> Urls, int SitemapsRead, long Listed, long OutOfScope, long Excluded,
    long Duplicates, long Unusable, long OverMaxPages, IReadOnlyList<string> Problems);

/// <summary>Walks the sitemaps of a job's origins: each origin's robots.txt <c>Sitemap:</c> lines, else its
/// <c>/sitemap.xml</c>; an index's sitemaps are read in turn, at most <see cref="MaxIndexDepth"/> indexes deep (the
/// protocol allows none nested; some sites nest one) and <see cref="MaxSitemaps"/> files per job. Fetching is the
/// caller's (<paramref name="fetch"/> goes through the engine, so the SSRF guard and politeness apply; null when the
/// fetch failed).</summary>
internal sealed class SitemapWalker(Func<Uri, CancellationToken, Task<SitemapDocument?>> fetch, int maxUrlLength, IReadOnlyCollection<int> allowedPorts)
{
    public const int MaxIndexDepth = 2;
    public const int MaxSitemaps = 1000;
    private const int MaxListedProblems = 20;

    /// <summary>Where an origin's sitemaps are: its robots.txt Sitemap lines, else /sitemap.xml.</summary>
    public static IReadOnlyList<Uri> Roots(Uri origin, IReadOnlyList<string> robotsSitemaps)
    {
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(robotsSitemaps);
        var listed = robotsSitemaps
            .Select(line => Uri.TryCreate(line, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri : null)
            .OfType<Uri>().ToList();
        return listed.Count > 0 ? listed : [new Uri(origin, "/sitemap.xml")];
    }

    /// <summary><paramref name="seen"/> holds the fingerprints of the job's seeds and gets the added URLs';
    /// <paramref name="room"/> is how many pages maxPages still allows.</summary>
    public async Task<SitemapHarvest> WalkAsync(IEnumerable<Uri> roots, DiscoverySettings discovery, CrawlScope scope, HashSet<UInt128> seen,
        int room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(discovery);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(seen);
        var urls = new List<SitemapUrl>();
        var problems = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<(Uri Url, int Depth)>(roots.Select(root => (root, 0)));
        int read = 0;
        long listed = 0, outOfScope = 0, excluded = 0, duplicates = 0, unusable = 0, overMaxPages = 0;
        while (queue.TryDequeue(out var next) && read < MaxSitemaps)
        {
            if (!visited.Add(next.Url.AbsoluteUri))
            {
                continue;
            }

            read++;
            var document = await fetch(next.Url, cancellationToken).ConfigureAwait(false);
            if (document is null)
            {
                continue;
            }

            if (document.Problem is { } problem && problems.Count < MaxListedProblems)
            {
                problems.Add($"{next.Url.AbsoluteUri}: {problem}");
            }

            if (document.Kind == SitemapKind.Index)
            {
                foreach (var child in document.Locations)
                {
                    if (next.Depth < MaxIndexDepth && Uri.TryCreate(child, UriKind.Absolute, out var childUrl) && childUrl.Scheme is "http" or "https")
                    {
                        queue.Enqueue((childUrl, next.Depth + 1));
                    }
                }

                continue;
            }

            foreach (var location in document.Locations)
            {
                listed++;
                if (UrlNormaliser.TryNormalise(location, maxUrlLength, allowedPorts, out var url) is not null)
                {
                    unusable++;
                }
                else if (!scope.Contains(url))
                {
                    outOfScope++;
                }
                else if (DiscoveryRules.IsExcluded(url, discovery))
                {
                    excluded++;
                }
                else if (seen.Contains(Jobs.CrawlJobValidator.Fingerprint(url)))
                {
                    duplicates++;
                }
                else if (urls.Count >= room)
                {
                    overMaxPages++;
                }
                else
                {
                    seen.Add(Jobs.CrawlJobValidator.Fingerprint(url));
                    urls.Add(new SitemapUrl(url, next.Url.AbsoluteUri));
                }
            }
        }

        return new SitemapHarvest(urls, read, listed, outOfScope, excluded, duplicates, unusable, overMaxPages, problems);
    }
}
