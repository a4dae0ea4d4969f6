using FetchFunctions.Core.Orchestration;

namespace FetchFunctions.Core.Summary;

/// <summary>Turns the per-URL results of one batch into its mergeable statistics.</summary>
internal static class BatchStatsBuilder
{
    /// <param name="results">The batch's results.</param>
    /// <param name="slowedHosts">Hosts the back-off slowed in this batch (see <c>Robots.HostThrottle</c>).</param>
    public static BatchStats From(IReadOnlyCollection<UrlResult> results, IReadOnlySet<string>? slowedHosts = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var statuses = new Dictionary<int, long>();
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        var outcomes = new Dictionary<string, long>(StringComparer.Ordinal);
        var hosts = new Dictionary<string, HostStats>(StringComparer.Ordinal);
        var depths = new Dictionary<int, long>();
        foreach (var result in results)
        {
            if (result.Depth is { } depth)
            {
                depths[depth] = depths.GetValueOrDefault(depth) + 1;
            }

            var outcome = UrlOutcome.Of(result.Status, result.ErrorKind);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;

            if (result.Status is { } status)
            {
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
            }

            if (result.ErrorKind is { } kind)
            {
                var name = kind.ToString();
                errors[name] = errors.GetValueOrDefault(name) + 1;
            }

            var one = new HostStats(result.Host, 1, result.Succeeded ? 1 : 0, result.Succeeded ? 0 : 1, result.Bytes,
                result.Status is 429 or 503 ? 1 : 0, slowedHosts?.Contains(result.Host) == true);
            hosts[result.Host] = hosts.TryGetValue(result.Host, out var seen) ? seen.Add(one) : one;
        }

        var (hostTable, otherHosts) = HostStats.Cap(hosts.Values, BatchStats.MaxHosts, null);
        // Whole bodies: a WARC record cut at the byte cap (TooLarge, no SHA-256) is kept but not counted as a stored body.
        var stored = results.Where(r => r.HasStoredBody && r.Sha256 is not null).ToList();
        return new BatchStats
        {
            Batches = 1,
            Urls = results.Count,
            Succeeded = results.Count(r => r.Succeeded),
            Failed = results.Count(r => !r.Succeeded),
            Bytes = results.Sum(r => r.Bytes),
            BodiesStored = stored.Count,
            StoredBytes = stored.Sum(r => r.Bytes),
            Attempts = results.Sum(r => (long)r.Attempts),
            StatusCodes = Counts.Sorted(statuses),
            ErrorKinds = Counts.Sorted(errors),
            Outcomes = Counts.Sorted(outcomes),
            Depths = Counts.Sorted(depths),
            Latency = LatencyHistogram.FromMilliseconds(results.Where(r => r.Started).Select(r => r.DurationMs)),
            Hosts = hostTable,
            OtherHosts = otherHosts,
        };
    }
}
