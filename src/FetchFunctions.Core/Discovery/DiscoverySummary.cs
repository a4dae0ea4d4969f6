namespace FetchFunctions.Core.Discovery;

/// <summary>The discovery part of a job's summary, from its rounds' stats: pages planned per depth (depth 0: the seeds
/// and their sitemaps' URLs) and what happened to every link and sitemap entry. Pages fetched per depth come from the
/// result rows' depth.</summary>
public sealed record DiscoverySummary
{
    public required IReadOnlyList<long> PagesByDepth { get; init; }
    public required long LinksFound { get; init; }
    public required long OutOfScope { get; init; }
    public required long Excluded { get; init; }
    public required long Duplicates { get; init; }
    public required long Nofollow { get; init; }
    public required long TooDeep { get; init; }
    public required long OverMaxPages { get; init; }
    public required long Unusable { get; init; }
    public required long SitemapUrls { get; init; }

    /// <summary><paramref name="rounds"/>: every planned round's stats, the sitemap round (depth 0) among them if there was one.</summary>
    public static DiscoverySummary From(int seeds, IEnumerable<RoundStats> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        var list = rounds.ToList();
        var sitemap = list.Where(r => r.Depth == 0).ToList();
        var links = list.Where(r => r.Depth > 0).ToList();
        var depths = list.Count == 0 ? 0 : list.Max(r => r.Depth);
        var pages = new long[depths + 1];
        pages[0] = seeds;
        foreach (var round in list)
        {
            pages[round.Depth] += round.Planned;
        }

        return new DiscoverySummary
        {
            PagesByDepth = pages,
            LinksFound = links.Sum(r => r.LinksFound),
            OutOfScope = list.Sum(r => r.OutOfScope),
            Excluded = list.Sum(r => r.Excluded),
            Duplicates = list.Sum(r => r.Duplicates),
            Nofollow = links.Sum(r => r.Nofollow),
            TooDeep = links.Sum(r => r.TooDeep),
            OverMaxPages = list.Sum(r => r.OverMaxPages),
            Unusable = list.Sum(r => r.Unusable),
            SitemapUrls = sitemap.Sum(r => r.Planned),
        };
    }
}
