using System.Globalization;
using FetchFunctions.Core.Discovery;

namespace FetchFunctions.Core.Jobs;

/// <summary>The job's <c>crawl</c> section (link discovery).</summary>
internal sealed partial class CrawlJobValidator
{
    /// <summary>Patterns per list: each is tried on every discovered link.</summary>
    public const int MaxUrlPatterns = 32;

    public const int MaxUrlPatternLength = 512;

    /// <summary>Host names in a scope list.</summary>
    public const int MaxScopeHosts = 100;

    /// <summary>The effective discovery settings, or null when the job has no <c>crawl</c> section or no depth and no
    /// sitemaps (nothing to discover). Bad fields are reported and fall back to the operator's value.</summary>
    public DiscoverySettings? ResolveDiscovery(CrawlDiscoveryOptions? options, ProblemList problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (options is null)
        {
            return null;
        }

        var crawl = Crawl;
        var maxDepth = options.MaxDepth is null ? (int?)null
            : InRange(options.MaxDepth, 0, 0, crawl.MaxDepth, "crawl.maxDepth", problems);
        var maxPages = InRange(options.MaxPages, crawl.EffectiveMaxPages, 1, crawl.EffectiveMaxPages, "crawl.maxPages", problems);
        var (scope, hosts) = CheckScope(options.Scope, problems);
        var include = CheckPatterns(options.Include, "crawl.include", problems);
        var exclude = CheckPatterns(options.Exclude, "crawl.exclude", problems);
        var followSitemaps = options.FollowSitemaps ?? false;
        if (maxDepth is null && !followSitemaps)
        {
            if (options.MaxPages is not null || options.Scope is not null || options.Include is not null || options.Exclude is not null)
            {
                problems.Add("crawl.maxDepth", null, "is required when the crawl section sets anything else: without a depth (or sitemaps) no links are followed.");
            }

            return null;
        }

        return new DiscoverySettings
        {
            // Sitemaps alone: their URLs are seeds, no links followed.
            MaxDepth = maxDepth ?? 0,
            MaxPages = maxPages,
            Scope = scope,
            ScopeHosts = hosts,
            Include = include,
            Exclude = exclude,
            FollowSitemaps = followSitemaps,
            RespectNofollow = options.RespectNofollow ?? true,
        };
    }

    /// <summary>The seeds count against maxPages: a job with more seeds than pages could never fetch them all.</summary>
    private static void CheckSeedsWithinMaxPages(UrlScan scan, DiscoverySettings? discovery, string urlsPath, ProblemList problems)
    {
        if (discovery is not null && !scan.StoppedEarly && scan.UniqueUrls > discovery.MaxPages)
        {
            problems.Add("crawl.maxPages", discovery.MaxPages.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture,
                $"is less than the {scan.UniqueUrls} URLs in {urlsPath}: the seeds are pages too."));
        }
    }

    private static (ScopeKind Kind, IReadOnlyList<string> Hosts) CheckScope(IReadOnlyList<string>? scope, ProblemList problems)
    {
        if (scope is null or [])
        {
            if (scope is [])
            {
                problems.Add("crawl.scope", null, "is empty: give \"host\", \"prefix\" or a list of host names.");
            }

            return (ScopeKind.Host, []);
        }

        if (scope is [var single] && single is "host" or "prefix")
        {
            return (single == "host" ? ScopeKind.Host : ScopeKind.Prefix, []);
        }

        if (scope.Count > MaxScopeHosts)
        {
            problems.Add("crawl.scope", scope.Count.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"lists {scope.Count} hosts; at most {MaxScopeHosts} are allowed."));
            return (ScopeKind.Host, []);
        }

        var hosts = new List<string>(scope.Count);
        for (var i = 0; i < scope.Count; i++)
        {
            var entry = scope[i];
            if (entry is "host" or "prefix")
            {
                problems.Add($"crawl.scope[{i}]", entry, $"\"{entry}\" is a scope of its own, not a host name: give it alone.");
                continue;
            }

            if (CrawlScope.TryNormaliseHostPattern(entry, out var host) is { } problem)
            {
                problems.Add($"crawl.scope[{i}]", entry, problem);
                continue;
            }

            if (!hosts.Contains(host, StringComparer.Ordinal))
            {
                hosts.Add(host);
            }
        }

        return (ScopeKind.Hosts, hosts);
    }

    private static List<string> CheckPatterns(IReadOnlyList<string>? patterns, string path, ProblemList problems)
    {
        if (patterns is null)
        {
            return [];
        }

        if (patterns.Count > MaxUrlPatterns)
        {
            problems.Add(path, patterns.Count.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"has {patterns.Count} patterns; at most {MaxUrlPatterns} are allowed."));
            return [];
        }

        var valid = new List<string>(patterns.Count);
        for (var i = 0; i < patterns.Count; i++)
        {
            var pattern = patterns[i];
            if (pattern is null || pattern.Length is 0 or > MaxUrlPatternLength || !pattern.All(c => c is > ' ' and <= '~'))
            {
                problems.Add($"{path}[{i}]", pattern, string.Create(CultureInfo.InvariantCulture,
                    $"must be 1-{MaxUrlPatternLength} printable ASCII characters without spaces, as URLs are once normalised (non-ASCII percent-encoded); '*' matches any run of characters."));
                continue;
            }

            valid.Add(pattern);
        }

        return valid;
    }
}
