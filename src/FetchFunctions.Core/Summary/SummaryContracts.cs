using System.Collections.ObjectModel;

namespace FetchFunctions.Core.Summary;

/// <summary>Mergeable statistics of one or more batches: what an activity returns and what the orchestration adds up.
/// Small by design (a few kilobytes at most) because it travels through orchestration history: histograms are sparse,
/// and at most <see cref="MaxHosts"/> hosts are listed, the rest summed up in <see cref="OtherHosts"/>.</summary>
public sealed record BatchStats
{
    /// <summary>Hosts listed by name; with more, those with fewest URLs are summed up in <see cref="OtherHosts"/>.</summary>
    public const int MaxHosts = 100;

    public int Batches { get; init; }
    public long Urls { get; init; }
    public long Succeeded { get; init; }
    public long Failed { get; init; }

    /// <summary>Body bytes read (decompressed), stored or not: a URL stopped as too large or whose body broke off counts
    /// what its last body attempt read.</summary>
    public long Bytes { get; init; }

    public long BodiesStored { get; init; }

    /// <summary>Bytes of the stored bodies.</summary>
    public long StoredBytes { get; init; }

    /// <summary>HTTP attempts, retries included.</summary>
    public long Attempts { get; init; }

    /// <summary>Final HTTP status code → URLs. URLs without a response are not counted here.</summary>
    public IReadOnlyDictionary<int, long> StatusCodes { get; init; } = ReadOnlyDictionary<int, long>.Empty;

    /// <summary><see cref="Fetching.FetchErrorKind"/> name → failed URLs.</summary>
    public IReadOnlyDictionary<string, long> ErrorKinds { get; init; } = ReadOnlyDictionary<string, long>.Empty;

    /// <summary>One outcome per URL (<see cref="UrlOutcome"/>) → URLs; the counts sum to <see cref="Urls"/>.</summary>
    public IReadOnlyDictionary<string, long> Outcomes { get; init; } = ReadOnlyDictionary<string, long>.Empty;

    /// <summary>Durations of the fetches that ran (URLs stopped before they started are not timed).</summary>
    public LatencyHistogram Latency { get; init; } = LatencyHistogram.Empty;

    /// <summary>Depth → URLs, for a job that discovers links (empty otherwise).</summary>
    public IReadOnlyDictionary<int, long> Depths { get; init; } = ReadOnlyDictionary<int, long>.Empty;

    /// <summary>Hosts by URLs (most first, then by name), at most <see cref="MaxHosts"/>.</summary>
    public IReadOnlyList<HostStats> Hosts { get; init; } = [];

    /// <summary>The sum of the hosts not listed in <see cref="Hosts"/>, or null when all are listed.</summary>
    public HostStats? OtherHosts { get; init; }

    public static BatchStats Empty { get; } = new();

    /// <summary>Adds two statistics up. Costs O(buckets + hosts), never O(URLs). Totals are exact; the per-host table
    /// is exact while a job has at most <see cref="MaxHosts"/> hosts.</summary>
    public static BatchStats Merge(BatchStats left, BatchStats right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        var (hosts, other) = HostStats.Merge(left.Hosts, left.OtherHosts, right.Hosts, right.OtherHosts, MaxHosts);
        return new BatchStats
        {
            Batches = left.Batches + right.Batches,
            Urls = left.Urls + right.Urls,
            Succeeded = left.Succeeded + right.Succeeded,
            Failed = left.Failed + right.Failed,
            Bytes = left.Bytes + right.Bytes,
            BodiesStored = left.BodiesStored + right.BodiesStored,
            StoredBytes = left.StoredBytes + right.StoredBytes,
            Attempts = left.Attempts + right.Attempts,
            StatusCodes = Counts.Add(left.StatusCodes, right.StatusCodes),
            ErrorKinds = Counts.Add(left.ErrorKinds, right.ErrorKinds),
            Outcomes = Counts.Add(left.Outcomes, right.Outcomes),
            Depths = Counts.Add(left.Depths, right.Depths),
            Latency = LatencyHistogram.Merge(left.Latency, right.Latency),
            Hosts = hosts,
            OtherHosts = other,
        };
    }
}

/// <summary>Counts of one host (or, as <see cref="BatchStats.OtherHosts"/>, of several). <see cref="Throttled"/> counts
/// URLs whose final answer was 429 or 503; <see cref="Slowed"/> says whether the back-off slowed the host in any batch.</summary>
public sealed record HostStats(string Host, long Urls, long Succeeded, long Failed, long Bytes, long Throttled = 0, bool Slowed = false)
{
    /// <summary>The name of the row that sums up hosts beyond the cap.</summary>
    public const string OtherHostsName = "(other hosts)";

    internal HostStats Add(HostStats other) =>
        this with
        {
            Urls = Urls + other.Urls, Succeeded = Succeeded + other.Succeeded, Failed = Failed + other.Failed, Bytes = Bytes + other.Bytes,
            Throttled = Throttled + other.Throttled, Slowed = Slowed || other.Slowed,
        };

    /// <summary>Most URLs first, then by name: a total order, so merging is deterministic.</summary>
    internal static IOrderedEnumerable<HostStats> Ranked(IEnumerable<HostStats> hosts) =>
        hosts.OrderByDescending(h => h.Urls).ThenBy(h => h.Host, StringComparer.Ordinal);

    internal static (IReadOnlyList<HostStats> Hosts, HostStats? Other) Merge(
        IEnumerable<HostStats> left, HostStats? leftOther, IEnumerable<HostStats> right, HostStats? rightOther, int maxHosts)
    {
        var byHost = new Dictionary<string, HostStats>(StringComparer.Ordinal);
        foreach (var host in left.Concat(right))
        {
            byHost[host.Host] = byHost.TryGetValue(host.Host, out var seen) ? seen.Add(host) : host;
        }

        return Cap(byHost.Values, maxHosts, Sum(leftOther, rightOther));
    }

    internal static (IReadOnlyList<HostStats> Hosts, HostStats? Other) Cap(IEnumerable<HostStats> hosts, int maxHosts, HostStats? other)
    {
        var ranked = Ranked(hosts).ToList();
        if (ranked.Count <= maxHosts)
        {
            return (ranked, other);
        }

        foreach (var host in ranked.Skip(maxHosts))
        {
            other = Sum(other, host with { Host = OtherHostsName });
        }

        return (ranked.Take(maxHosts).ToList(), other);
    }

    private static HostStats? Sum(HostStats? a, HostStats? b) => (a, b) switch
    {
        (null, null) => null,
        (null, { } only) => only with { Host = OtherHostsName },
        ({ } only, null) => only with { Host = OtherHostsName },
        ({ } x, { } y) => x.Add(y) with { Host = OtherHostsName },
    };
}

/// <summary>The outcome of a job, stored as <c>{jobId}/summary.json</c>. The orchestration returns an abridged copy
/// (fewer failed URLs and hosts listed) so its output stays small; the counts are the same.</summary>
public sealed record CrawlSummary
{
    public required string JobId { get; init; }

    /// <summary>Where the full summary is stored.</summary>
    public required string SummaryBlobName { get; init; }

    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset FinishedAt { get; init; }
    public TimeSpan Elapsed { get; init; }
    public int Batches { get; init; }

    /// <summary>URLs of the job (after duplicates were removed at intake).</summary>
    public long Total { get; init; }

    public long Succeeded { get; init; }
    public long Failed { get; init; }
    public int DuplicatesRemoved { get; init; }

    /// <summary>Body bytes read (decompressed), stored or not: a URL stopped as too large or whose body broke off counts
    /// what its last body attempt read.</summary>
    public long Bytes { get; init; }

    public long BodiesStored { get; init; }

    /// <summary>Bytes of the stored bodies.</summary>
    public long StoredBytes { get; init; }

    public long Attempts { get; init; }

    /// <summary>Succeeded / Total, from 0 to 1 (1 for an empty job).</summary>
    public double SuccessRate { get; init; }

    public double UrlsPerSecond { get; init; }
    public double BytesPerSecond { get; init; }
    /// <summary>Fetch durations; the percentiles are histogram bucket upper bounds (see <see cref="LatencySummary"/>).</summary>
    public LatencySummary Latency { get; init; } = LatencySummary.None;

    /// <summary>Final HTTP status → URLs that got one, failed or not (a too-large 200 counts here and in
    /// <see cref="ErrorKinds"/>): the two overlap, <see cref="Outcomes"/> does not.</summary>
    public IReadOnlyDictionary<int, long> StatusCodes { get; init; } = ReadOnlyDictionary<int, long>.Empty;

    /// <summary>Error kind → failed URLs.</summary>
    public IReadOnlyDictionary<string, long> ErrorKinds { get; init; } = ReadOnlyDictionary<string, long>.Empty;

    /// <summary>One outcome per URL → URLs, summing to <see cref="Total"/>: the final status code ("200", "404") for a URL
    /// that succeeded or failed only by its status, else its error kind ("TooLarge", "Timeout"). See <see cref="UrlOutcome"/>.</summary>
    public IReadOnlyDictionary<string, long> Outcomes { get; init; } = ReadOnlyDictionary<string, long>.Empty;

    public IReadOnlyList<HostStats> Hosts { get; init; } = [];
    public HostStats? OtherHosts { get; init; }

    /// <summary>Failed URLs with reasons, in batch order, up to the operator's cap.</summary>
    public IReadOnlyList<FailedUrl> FailedUrls { get; init; } = [];

    /// <summary>Failed URLs not listed in <see cref="FailedUrls"/> (see the results blobs for all of them).</summary>
    public long FailedUrlsNotListed { get; init; }

    /// <summary>Depth → URLs fetched (seeds and their sitemaps' URLs are depth 0), for a job that discovers links.</summary>
    public IReadOnlyDictionary<int, long> PagesByDepth { get; init; } = ReadOnlyDictionary<int, long>.Empty;

    /// <summary>What link discovery found (null when the job does not discover links).</summary>
    public Discovery.DiscoverySummary? Discovery { get; init; }
}

/// <summary>Latency percentiles read from the fixed-bucket histogram: each is the upper bound of the bucket the percentile
/// falls in, so at most about 9 % above the true value, never below it. Mean and max are exact.</summary>
public sealed record LatencySummary(double P50Milliseconds, double P95Milliseconds, double P99Milliseconds, double MeanMilliseconds, double MaxMilliseconds)
{
    public static LatencySummary None { get; } = new(0, 0, 0, 0, 0);

    public static LatencySummary From(LatencyHistogram histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        return new LatencySummary(histogram.Percentile(0.50), histogram.Percentile(0.95), histogram.Percentile(0.99),
            histogram.MeanMilliseconds, histogram.MaxMilliseconds);
    }
}

/// <summary>A failed URL and why it failed.</summary>
public sealed record FailedUrl(string Url, int? StatusCode, string? ErrorKind, string? Error);

/// <summary>The one outcome of a URL that the summary counts in <see cref="CrawlSummary.Outcomes"/>.</summary>
public static class UrlOutcome
{
    /// <summary>The status code ("200", "404") when the URL succeeded or failed only by its status; otherwise the error
    /// kind ("TooLarge" for a 200 whose body was over the cap, "Timeout", "Dns", ...).</summary>
    public static string Of(int? statusCode, Fetching.FetchErrorKind? errorKind) =>
        statusCode is { } status && errorKind is null or Fetching.FetchErrorKind.HttpStatus
            ? status.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : errorKind?.ToString() ?? "NoResponse";

    /// <summary>The status code of an outcome that is one, else null (the outcome is an error kind).</summary>
    public static int? StatusCodeOf(string outcome) =>
        int.TryParse(outcome, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status) ? status : null;
}
