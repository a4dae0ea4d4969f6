using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Discovery;

/// <summary>What happens to a discovered link before the frontier's seen set and page budget.</summary>
internal enum LinkVerdict
{
    Follow,
    TooDeep,
    Nofollow,
    OutOfScope,
    Excluded,
}

/// <summary>The depth and filter rules of link discovery (docs/discovery.md). Seeds are depth 0; a link on a depth-d page
/// is depth d+1 and followed only if d+1 ≤ maxDepth; a redirect adds no depth (the page keeps its URL's depth, its
/// final URL counts as seen). maxPages is kept by the frontier, which plans the pages.</summary>
internal static class DiscoveryRules
{
    /// <summary>Whether the fetch of a page at <paramref name="pageDepth"/> keeps its body's start to read links from: only
    /// an HTML page whose links could still be followed (a page at maxDepth has none that could).</summary>
    public static bool CapturesLinks(DiscoverySettings? discovery, int pageDepth, int? status, string? contentType) =>
        discovery is not null && pageDepth < discovery.MaxDepth && status is >= 200 and <= 299 && HtmlLinkExtractor.IsHtml(contentType);

    public static int LinkDepth(int pageDepth) => pageDepth + 1;

    /// <summary>The verdict on one link (a normalised URL) found on a page at <paramref name="pageDepth"/>. Include and
    /// exclude patterns apply to discovered URLs, never to the job's own seeds.</summary>
    public static LinkVerdict Decide(string url, bool nofollow, int pageDepth, DiscoverySettings discovery, CrawlScope scope)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(discovery);
        ArgumentNullException.ThrowIfNull(scope);
        if (LinkDepth(pageDepth) > discovery.MaxDepth)
        {
            return LinkVerdict.TooDeep;
        }

        if (nofollow && discovery.RespectNofollow)
        {
            return LinkVerdict.Nofollow;
        }

        if (!scope.Contains(url))
        {
            return LinkVerdict.OutOfScope;
        }

        return IsExcluded(url, discovery) ? LinkVerdict.Excluded : LinkVerdict.Follow;
    }

    /// <summary>Whether the include/exclude patterns keep <paramref name="url"/> out (sitemap URLs go through this too).</summary>
    public static bool IsExcluded(string url, DiscoverySettings discovery)
    {
        ArgumentNullException.ThrowIfNull(discovery);
        return (discovery.Include.Count > 0 && !UrlPattern.MatchesAny(discovery.Include, url)) || UrlPattern.MatchesAny(discovery.Exclude, url);
    }
}
