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
        var plan = BatchLayout.Plan(job.JobId, urls.Length, job.DuplicatesRemoved, job.Settings.BatchSize, crawlOptions.Value.BatchesPerShard,
            job.Settings.MaxBatchesInFlight) with { PlanId = Fingerprint(urls, job.Settings, crawlOptions.Value.BatchesPerShard) };
        if (plan.ShardCount > CrawlOptions.MaxShardsPerJob)
        {
            // Intake checked the limit, but Crawl:BatchesPerShard may have been lowered since: fail plainly rather than
            // schedule more calls than one orchestration history should hold.
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Job {job.JobId} needs {plan.ShardCount} shards of {plan.BatchesPerShard} batches; at most {CrawlOptions.MaxShardsPerJob} are allowed."));
        }

        var order = GroupByHost(urls);
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.ShardCount),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (shard, token) =>
            {
                if (await store.PlanIdOfAsync(BlobNames.ShardManifest(job.JobId, shard), token).ConfigureAwait(false) == plan.PlanId)
                {
                    return;
                }

                var (first, count) = BatchLayout.ShardBatches(plan, shard);
                var batches = Enumerable.Range(first, count).Select(batch => BatchUrls(urls, order, batch, plan.BatchCount));
                await store.WriteShardManifestAsync(job.JobId, shard, first, batches, plan.PlanId, token).ConfigureAwait(false);
            })
            .ConfigureAwait(false);
        await store.DeleteStaleRunBlobsAsync(job.JobId, plan.BatchCount, plan.ShardCount, plan.PlanId, cancellationToken).ConfigureAwait(false);
        LogPlanned(logger, job.JobId, plan.UrlCount, plan.BatchCount, plan.ShardCount);
        return plan;
    }

    /// <summary>The plan's fingerprint: SHA-256 (first 128 bits, hex) over the job's effective settings (batch size
    /// included), the batches per shard and the normalised URLs in list order. The submission time is left out, so the
    /// same job submitted again has the same plan.</summary>
    internal static string Fingerprint(IReadOnlyList<string> urls, JobSettings settings, int batchesPerShard)
    {
        ArgumentNullException.ThrowIfNull(urls);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(settings, CrawlJsonContext.Default.JobSettings));
        hash.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"\n{batchesPerShard}\n")));
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            foreach (var url in urls)
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
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 16));
    }

    /// <summary>The URL indexes grouped by host (hosts in order of first appearance, URLs in list order within a
    /// host). Dealing this order round-robin into batches spreads every host evenly (see <see cref="BatchLayout"/>).
    /// A counting sort over host ids: O(n), two int arrays, one string per distinct host.</summary>
    internal static int[] GroupByHost(IReadOnlyList<string> urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        if (urls.Count == 0)
        {
            return [];
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

        var next = new int[counts.Count];
        for (int id = 1, start = counts[0]; id < counts.Count; start += counts[id], id++)
        {
            next[id] = start;
        }

        var order = new int[urls.Count];
        for (var i = 0; i < urls.Count; i++)
        {
            order[next[hostOf[i]]++] = i;
        }

        return order;
    }

    /// <summary>The URLs of one batch: positions batch, batch + B, batch + 2B, … of the host-grouped order.</summary>
    internal static IEnumerable<string> BatchUrls(IReadOnlyList<string> urls, int[] order, int batch, int batchCount)
    {
        for (var position = batch; position < order.Length; position += batchCount)
        {
            yield return urls[order[position]];
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId}: {UrlCount} URLs planned in {BatchCount} batches and {ShardCount} shards")]
    private static partial void LogPlanned(ILogger logger, string jobId, int urlCount, int batchCount, int shardCount);
}
