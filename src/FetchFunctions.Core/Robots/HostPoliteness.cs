using System.Globalization;

namespace FetchFunctions.Core.Robots;

/// <summary>What one lane call obeys for one origin: its robots.txt rules, its delay and its back-off.</summary>
internal sealed class HostPoliteness
{
    private const int MaxPatternInReason = 200;

    private readonly RobotsRules _rules;

    public HostPoliteness(HostRecord record, bool respectRobots, int baseConcurrency, TimeSpan maxCrawlDelay, bool fetchedNow)
    {
        ArgumentNullException.ThrowIfNull(record);
        Record = record;
        RespectRobots = respectRobots;
        FetchedRobotsNow = fetchedNow;
        _rules = new RobotsRules(record.Rules, record.CrawlDelay);
        var crawlDelay = respectRobots ? record.CrawlDelay ?? TimeSpan.Zero : TimeSpan.Zero;
        CrawlDelay = crawlDelay > maxCrawlDelay ? maxCrawlDelay : crawlDelay;
        Throttle = new HostThrottle(baseConcurrency, record.Backoff, maxCrawlDelay);
    }

    public HostRecord Record { get; }

    public string Origin => Record.Origin;

    public bool RespectRobots { get; }

    /// <summary>True when this batch requested robots.txt itself (that request counts as a start of the host).</summary>
    public bool FetchedRobotsNow { get; }

    /// <summary>robots.txt's Crawl-delay, capped by Crawl:MaxCrawlDelay; zero when there is none.</summary>
    public TimeSpan CrawlDelay { get; }

    public HostThrottle Throttle { get; }

    /// <summary>The least time between two request starts of this origin now: the batch's own, robots.txt's or the back-off's.</summary>
    public TimeSpan DelayAtLeast(TimeSpan batchDelay)
    {
        var delay = batchDelay > CrawlDelay ? batchDelay : CrawlDelay;
        var backoff = Throttle.Delay;
        return backoff > delay ? backoff : delay;
    }

    /// <summary>Why robots.txt forbids the URL, or null when it may be fetched. Names the rule, never the URL's query.</summary>
    public string? DisallowReason(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!RespectRobots)
        {
            return null;
        }

        if (Record.Robots == RobotsOutcome.Unreachable)
        {
            return $"Disallowed: robots.txt of {Origin} was unreachable ({Record.RobotsReason}), so nothing of it is fetched in this job.";
        }

        if (Record.Robots != RobotsOutcome.Parsed)
        {
            return null;
        }

        var decision = _rules.Decide(url.PathAndQuery);
        if (decision.Allowed)
        {
            return null;
        }

        var pattern = decision.Rule!.Pattern;
        return string.Create(CultureInfo.InvariantCulture,
            $"Disallowed by robots.txt of {Origin}: \"Disallow: {(pattern.Length <= MaxPatternInReason ? pattern : pattern[..MaxPatternInReason] + "…")}\".");
    }

    /// <summary>The origin of a normalised URL (<c>scheme://host[:port]</c>), sliced without parsing.</summary>
    public static string OriginOf(string normalisedUrl)
    {
        ArgumentNullException.ThrowIfNull(normalisedUrl);
        var schemeEnd = normalisedUrl.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return normalisedUrl;
        }

        var end = normalisedUrl.AsSpan(schemeEnd + 3).IndexOfAny('/', '?', '#');
        return end < 0 ? normalisedUrl : normalisedUrl[..(schemeEnd + 3 + end)];
    }
}

/// <summary>The origins of one lane call: what each obeys, found when the call first needs it.</summary>
internal interface IHostDirectory
{
    Task<HostPoliteness> GetAsync(string origin, CancellationToken cancellationToken);
}

/// <summary>No robots.txt and no storage: back-off for the length of one lane call only (for callers without a job store).</summary>
internal sealed class TransientHostDirectory(int baseConcurrency, TimeSpan maxDelay) : IHostDirectory
{
    public Task<HostPoliteness> GetAsync(string origin, CancellationToken cancellationToken) => Task.FromResult(
        new HostPoliteness(new HostRecord(origin, RobotsOutcome.NotRead, null, null, [], null, HostBackoff.None), false, baseConcurrency, maxDelay, false));
}
