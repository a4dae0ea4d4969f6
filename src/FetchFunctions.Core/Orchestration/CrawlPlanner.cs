using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Orchestration;

/// <summary>Splits a stored job into batches, written as one manifest per shard. Deterministic: the same job gives the same manifests, so a
/// retried plan activity rewrites identical blobs. A plan's fingerprint (<see cref="CrawlPlan.PlanId"/>) tags its manifests and
/// results: manifests of the same plan are kept as they are, and so are its results (a re-run resumes).</summary>
internal sealed partial class CrawlPlanner(JobStore store, IOptions<CrawlOptions> crawlOptions, ILogger<CrawlPlanner> logger)
{
    private const int ManifestUploadConcurrency = 8;

    public async Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var job = await store.ReadJobAsync(ticket.JobBlobName, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(job.JobId, ticket.JobId, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{ticket.JobBlobName}' holds job '{job.JobId}', not '{ticket.JobId}'.");
        }

        var urls = await ReadUrlsAsync(job, cancellationToken).ConfigureAwait(false);
        var (order, hostStarts) = GroupByHost(urls);
        var layout = BatchLayout.Assign(HostSizes(hostStarts), job.Settings.BatchSize, HostsPerLane(job.Settings, crawlOptions.Value),
            job.Settings.MaxBatchesInFlight);
        var plan = BatchLayout.Plan(job.JobId, layout, job.DuplicatesRemoved, crawlOptions.Value.BatchesPerShard, job.Settings.MaxBatchesInFlight);
        if (plan.ShardCount > CrawlOptions.MaxShardsPerJob)
        {
            // Intake checked the limit for full batches, but grouping by host may need more batches, and
            // Crawl:BatchesPerShard may have been lowered since: fail plainly rather than schedule more calls than one
            // orchestration history should hold.
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Job {job.JobId} needs {plan.ShardCount} shards of {plan.BatchesPerShard} batches; at most {CrawlOptions.MaxShardsPerJob} are allowed."));
        }

        plan = plan with
        {
            PlanId = Fingerprint(Enumerable.Range(0, plan.BatchCount).Select(batch => BatchUrls(urls, order, hostStarts, layout, batch)),
                job.Settings, crawlOptions.Value.BatchesPerShard),
        };

        await Parallel.ForEachAsync(Enumerable.Range(0, plan.ShardCount),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (shard, token) =>
            {
                if (await store.PlanIdOfAsync(BlobNames.ShardManifest(job.JobId, shard), token).ConfigureAwait(false) == plan.PlanId)
                {
                    return;
                }

                var (first, count) = BatchLayout.ShardBatches(plan, shard);
                var batches = Enumerable.Range(first, count).Select(batch => BatchUrls(urls, order, hostStarts, layout, batch));
                await store.WriteShardManifestAsync(job.JobId, shard, first, batches, plan.PlanId, token).ConfigureAwait(false);
            })
            .ConfigureAwait(false);
        await store.DeleteStaleRunBlobsAsync(job.JobId, plan.BatchCount, plan.ShardCount, plan.PlanId, cancellationToken).ConfigureAwait(false);
        var lanes = plan.Lanes.Sum(run => run.Count);
        LogPlanned(logger, job.JobId, plan.UrlCount, plan.BatchCount, plan.ShardCount, lanes);
        return plan;
    }

    /// <summary>The plan's fingerprint: SHA-256 (first 128 bits, hex) over the job's effective settings, the batches per
    /// shard and the URLs of every batch as laid out, batch after batch. The submission time is left out, so the same
    /// job submitted again has the same plan; any change of layout (the job's, the operator's or the planner's own rules)
    /// is another plan, whose manifests and results are not mixed with this one's.</summary>
    internal static string Fingerprint(IEnumerable<IEnumerable<string>> batches, JobSettings settings, int batchesPerShard)
    {
        ArgumentNullException.ThrowIfNull(batches);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(settings, CrawlJsonContext.Default.JobSettings));
        hash.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"\n{batchesPerShard}\n")));
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            foreach (var batch in batches)
            {
                foreach (var url in batch)
                {
                    var needed = Encoding.UTF8.GetMaxByteCount(url.Length) + 1;
                    if (buffer.Length < needed)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(needed);
                    }

                    var length = Encoding.UTF8.GetBytes(url, buffer);
                    buffer[length] = (byte)'\n';
                    hash.AppendData(buffer, 0, length + 1);
                }

                // A blank line ends a batch (no URL is empty), so moving a URL to the next batch changes the hash.
                hash.AppendData("\n"u8);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 16));
    }

    /// <summary>The URL indexes grouped by host (hosts in order of first appearance, URLs in list order within a
    /// host), and where each host's run starts in that order (one entry per host plus the end).
    /// A counting sort over host ids: O(n), two int arrays, one string per distinct host.</summary>
    internal static (int[] Order, int[] HostStarts) GroupByHost(IReadOnlyList<string> urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        if (urls.Count == 0)
        {
            return ([], [0]);
        }

        var hostIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = hostIds.GetAlternateLookup<ReadOnlySpan<char>>();
        var hostOf = new int[urls.Count];
        var counts = new List<int>();
        for (var i = 0; i < urls.Count; i++)
        {
            var host = UrlNormaliser.HostOf(urls[i]);
            if (!lookup.TryGetValue(host, out var id))
            {
                id = hostIds.Count;
                lookup[host] = id;
                counts.Add(0);
            }

            hostOf[i] = id;
            counts[id]++;
        }

        var starts = new int[counts.Count + 1];
        for (var id = 0; id < counts.Count; id++)
        {
            starts[id + 1] = starts[id] + counts[id];
        }

        var next = starts[..^1];
        var order = new int[urls.Count];
        for (var i = 0; i < urls.Count; i++)
        {
            order[next[hostOf[i]]++] = i;
        }

        return (order, starts);
    }

    /// <summary>Hosts a lane's batch needs to use all its fetch slots, each host taking at most its own limit: ⌈C / P⌉
    /// with the limits the batch activity applies (the job's, tightened by the operator's).</summary>
    internal static int HostsPerLane(JobSettings settings, CrawlOptions options)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        var concurrency = Math.Min(settings.MaxConcurrency, options.MaxConcurrency);
        var perHost = Math.Max(1, Math.Min(settings.MaxConcurrencyPerHost, options.MaxConcurrencyPerHost));
        return Math.Max(1, (concurrency + perHost - 1) / perHost);
    }

    internal static int[] HostSizes(int[] hostStarts)
    {
        ArgumentNullException.ThrowIfNull(hostStarts);
        var sizes = new int[hostStarts.Length - 1];
        for (var host = 0; host < sizes.Length; host++)
        {
            sizes[host] = hostStarts[host + 1] - hostStarts[host];
        }

        return sizes;
    }

    /// <summary>The URLs of one batch of <paramref name="layout"/>, host segment after host segment.</summary>
    internal static IEnumerable<string> BatchUrls(IReadOnlyList<string> urls, int[] order, int[] hostStarts, HostLayout layout, int batch)
    {
        ArgumentNullException.ThrowIfNull(layout);
        for (var s = layout.BatchStarts[batch]; s < layout.BatchStarts[batch + 1]; s++)
        {
            var segment = layout.Segments[s];
            var start = hostStarts[segment.Host] + segment.Offset;
            for (var position = start; position < start + segment.Count; position++)
            {
                yield return urls[order[position]];
            }
        }
    }

    private async Task<string[]> ReadUrlsAsync(StoredJob job, CancellationToken cancellationToken)
    {
        var urls = new string[job.UrlCount];
        var count = 0;
        await foreach (var line in store.ReadLinesAsync(job.UrlListBlobName, cancellationToken).ConfigureAwait(false))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (count == urls.Length)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"'{job.UrlListBlobName}' holds more than the {job.UrlCount} URLs job.json announces."));
            }

            urls[count++] = line;
        }

        return count == urls.Length
            ? urls
            : throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{job.UrlListBlobName}' holds {count} URLs; job.json announces {job.UrlCount}."));
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Crawl {JobId}: {UrlCount} URLs planned in {BatchCount} batches and {ShardCount} shards, {LaneCount} hosts in lanes of their own")]
    private static partial void LogPlanned(ILogger logger, string jobId, int urlCount, int batchCount, int shardCount, int laneCount);
}
