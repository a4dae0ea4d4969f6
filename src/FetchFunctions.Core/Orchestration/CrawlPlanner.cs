using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Orchestration;

/// <summary>Splits a stored job into batches, written as one manifest per shard. Deterministic: the same job gives the same manifests, so a
/// retried plan activity rewrites identical blobs. A plan's fingerprint (<see cref="CrawlPlan.PlanId"/>) tags its manifests and
/// results: manifests of the same plan are kept as they are, and so are its results (a re-run resumes).
/// <para>Memory does not grow with the job. A job of at most <see cref="CrawlOptions.PlanPartitionUrls"/> URLs is read and
/// grouped in memory. A bigger one is streamed once into P partitions by host hash (a host's URLs all go to one
/// partition), keeping nothing; each partition is then read alone to count its hosts; the hosts are laid out
/// (<see cref="BatchLayout.Assign"/>) partition after partition, in order of first appearance within each; each partition is
/// read again, grouped, and its URLs written in the layout's batch order; and the manifests are written by drawing each
/// segment of each batch from its partition's ordered stream. So at most one partition's URLs are in memory, plus
/// the host sizes and the layout (a few ints per host).</para></summary>
internal sealed partial class CrawlPlanner(JobStore store, IOptions<CrawlOptions> crawlOptions, ILogger<CrawlPlanner> logger)
{
    /// <summary>The planner's rules, in the fingerprint: bump it when a change of the planner lays out the same job otherwise.</summary>
    internal const int RulesVersion = 2;

    /// <summary>The most partitions a job is split into: each has a writer and, at the end, a reader open at once.</summary>
    internal const int MaxPartitions = 64;

    private const int ManifestUploadConcurrency = 8;

    /// <summary>Block size of the partition writers and read buffer of the ordered partitions: up to
    /// <see cref="MaxPartitions"/> of each are open at once.</summary>
    private const int ScratchBufferBytes = 1024 * 1024;

    public async Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var phases = new PhaseClock(logger, ticket.JobId);
        var job = await store.ReadJobAsync(ticket.JobBlobName, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(job.JobId, ticket.JobId, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{ticket.JobBlobName}' holds job '{job.JobId}', not '{ticket.JobId}'.");
        }

        phases.Done("read job");
        var options = crawlOptions.Value;
        var hostsPerLane = HostsPerLane(job.Settings, options);
        var partitions = PartitionCount(job.UrlCount, options.PlanPartitionUrls);
        using var fingerprint = new PlanFingerprint(job.Settings, options.BatchesPerShard, hostsPerLane, partitions);
        try
        {
            string[] urls = [];
            int[] order = [];
            int[] hostStarts = [];
            int[] hostSizes;
            int[] partitionHosts;
            if (partitions == 1)
            {
                urls = await ReadUrlsAsync(job, fingerprint, cancellationToken).ConfigureAwait(false);
                phases.Done("read list");
                (order, hostStarts) = GroupByHost(urls);
                hostSizes = HostSizes(hostStarts);
                partitionHosts = [0, hostSizes.Length];
            }
            else
            {
                await SplitByHostAsync(job, partitions, fingerprint, cancellationToken).ConfigureAwait(false);
                phases.Done("split by host hash");
                (hostSizes, partitionHosts) = await CountHostsAsync(job.JobId, partitions, cancellationToken).ConfigureAwait(false);
            }

            phases.Done(partitions == 1 ? "group by host" : "count hosts");

            var layout = BatchLayout.Assign(hostSizes, job.Settings.BatchSize, hostsPerLane, job.Settings.MaxBatchesInFlight);
            var plan = BatchLayout.Plan(job.JobId, layout, job.DuplicatesRemoved, options.BatchesPerShard, job.Settings.MaxBatchesInFlight)
                with { PlanId = fingerprint.Finish() };
            if (plan.ShardCount > CrawlOptions.MaxShardsPerJob)
            {
                // Intake checked the limit for full batches, but grouping by host may need more batches, and
                // Crawl:BatchesPerShard may have been lowered since: fail plainly rather than schedule more calls than one
                // orchestration history should hold.
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Job {job.JobId} needs {plan.ShardCount} shards of {plan.BatchesPerShard} batches; at most {CrawlOptions.MaxShardsPerJob} are allowed."));
            }

            phases.Done("layout");
            var written = await ManifestsOfPlanAsync(plan, cancellationToken).ConfigureAwait(false);
            phases.Done("check manifests");
            if (written.Any(done => !done))
            {
                if (partitions == 1)
                {
                    await WriteManifestsAsync(plan, written, batch => BatchUrls(urls, order, hostStarts, layout, batch), cancellationToken)
                        .ConfigureAwait(false);
                }
                else
                {
                    await OrderPartitionsAsync(job.JobId, layout, partitionHosts, cancellationToken).ConfigureAwait(false);
                    phases.Done("order partitions");
                    await WriteManifestsFromPartitionsAsync(plan, layout, partitionHosts, written, cancellationToken).ConfigureAwait(false);
                }
            }

            phases.Done("write manifests");
            await store.DeleteStaleRunBlobsAsync(job.JobId, plan.BatchCount, plan.ShardCount, plan.PlanId, cancellationToken).ConfigureAwait(false);
            phases.Done("delete stale blobs");
            var lanes = plan.Lanes.Sum(run => run.Count);
            LogPlanned(logger, job.JobId, plan.UrlCount, plan.BatchCount, plan.ShardCount, lanes, partitions);
            return plan;
        }
        finally
        {
            if (partitions > 1)
            {
                // Not on cancellation's account: the scratch blobs are worthless once planning stopped, whyever it did.
                await DeleteScratchAsync(job.JobId, partitions, CancellationToken.None).ConfigureAwait(false);
                phases.Done("delete scratch");
            }
        }
    }

    /// <summary>Partitions a job of <paramref name="urlCount"/> URLs is split into: none below
    /// <paramref name="urlsPerPartition"/> + 1 URLs (one, in memory), at most <see cref="MaxPartitions"/>.</summary>
    internal static int PartitionCount(int urlCount, int urlsPerPartition) =>
        (int)Math.Clamp(((long)urlCount + urlsPerPartition - 1) / Math.Max(1, urlsPerPartition), 1, MaxPartitions);

    /// <summary>The partition of a host: a hash of its name, so every URL of a host goes to the same one.</summary>
    internal static int PartitionOf(ReadOnlySpan<char> host, int partitions) =>
        partitions <= 1 ? 0 : (int)(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(host)) % (ulong)partitions);

    /// <summary>Which shards already have a manifest of this plan (a re-run of the same plan keeps them).</summary>
    private async Task<bool[]> ManifestsOfPlanAsync(CrawlPlan plan, CancellationToken cancellationToken)
    {
        var written = new bool[plan.ShardCount];
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.ShardCount),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (shard, token) => written[shard] =
                await store.PlanIdOfAsync(BlobNames.ShardManifest(plan.JobId, shard), token).ConfigureAwait(false) == plan.PlanId)
            .ConfigureAwait(false);
        return written;
    }

    private async Task WriteManifestsAsync(CrawlPlan plan, bool[] written, Func<int, IEnumerable<string>> batchUrls, CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.ShardCount).Where(shard => !written[shard]),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (shard, token) =>
            {
                var (first, count) = BatchLayout.ShardBatches(plan, shard);
                await store.WriteShardManifestAsync(plan.JobId, shard, first, Enumerable.Range(first, count).Select(batchUrls), plan.PlanId, token)
                    .ConfigureAwait(false);
            })
            .ConfigureAwait(false);

    /// <summary>Streams the job's URLs once into <paramref name="partitions"/> blobs by host hash, feeding the fingerprint.</summary>
    private async Task SplitByHostAsync(StoredJob job, int partitions, PlanFingerprint fingerprint, CancellationToken cancellationToken)
    {
        var writers = new StagedTextWriter[partitions];
        try
        {
            for (var p = 0; p < partitions; p++)
            {
                writers[p] = store.CreateTextWriter(BlobNames.PlanPartition(job.JobId, p), ScratchBufferBytes);
            }

            await foreach (var url in ReadJobUrlsAsync(job, cancellationToken).ConfigureAwait(false))
            {
                fingerprint.AddUrl(url);
                await writers[PartitionOf(UrlNormaliser.HostOf(url), partitions)].WriteLineAsync(url, cancellationToken).ConfigureAwait(false);
            }

            foreach (var writer in writers)
            {
                await writer.CommitAsync(JobStore.TextContentType, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var writer in writers)
            {
                writer?.Dispose();
            }
        }
    }

    /// <summary>The sizes of every host, partition after partition (hosts in order of first appearance within each), and
    /// where each partition's hosts start (one entry per partition plus the end). Keeps one partition's hosts at a time.</summary>
    private async Task<(int[] HostSizes, int[] PartitionHosts)> CountHostsAsync(string jobId, int partitions, CancellationToken cancellationToken)
    {
        var sizes = new List<int>();
        var partitionHosts = new int[partitions + 1];
        for (var p = 0; p < partitions; p++)
        {
            var hostIds = new Dictionary<string, int>(StringComparer.Ordinal);
            var lookup = hostIds.GetAlternateLookup<ReadOnlySpan<char>>();
            await foreach (var url in store.ReadLinesAsync(BlobNames.PlanPartition(jobId, p), cancellationToken).ConfigureAwait(false))
            {
                var host = UrlNormaliser.HostOf(url);
                if (!lookup.TryGetValue(host, out var id))
                {
                    id = sizes.Count;
                    lookup[host] = id;
                    sizes.Add(0);
                }

                sizes[id]++;
            }

            partitionHosts[p + 1] = sizes.Count;
        }

        return ([.. sizes], partitionHosts);
    }

    /// <summary>For each partition: reads it, groups it by host as <see cref="CountHostsAsync"/> numbered its hosts, and
    /// writes its URLs in the layout's order (each of its hosts' segments, batch after batch).</summary>
    private async Task OrderPartitionsAsync(string jobId, HostLayout layout, int[] partitionHosts, CancellationToken cancellationToken)
    {
        for (var p = 0; p < partitionHosts.Length - 1; p++)
        {
            var urls = new List<string>();
            await foreach (var url in store.ReadLinesAsync(BlobNames.PlanPartition(jobId, p), cancellationToken).ConfigureAwait(false))
            {
                urls.Add(url);
            }

            var (order, hostStarts) = GroupByHost(urls);
            var (firstHost, endHost) = (partitionHosts[p], partitionHosts[p + 1]);
            if (hostStarts.Length - 1 != endHost - firstHost)
            {
                throw new InvalidDataException($"Partition {p} of job '{jobId}' changed while it was planned.");
            }

            using var writer = store.CreateTextWriter(BlobNames.PlanPartitionInBatchOrder(jobId, p), ScratchBufferBytes);
            foreach (var segment in layout.Segments)
            {
                if (segment.Host < firstHost || segment.Host >= endHost)
                {
                    continue;
                }

                var start = hostStarts[segment.Host - firstHost] + segment.Offset;
                for (var position = start; position < start + segment.Count; position++)
                {
                    await writer.WriteLineAsync(urls[order[position]], cancellationToken).ConfigureAwait(false);
                }
            }

            await writer.CommitAsync(JobStore.TextContentType, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the manifests in order, each batch's segments drawn from their partitions' ordered streams (which
    /// hold exactly those segments in that order), a few uploads overlapping the next shard's reading.</summary>
    private async Task WriteManifestsFromPartitionsAsync(CrawlPlan plan, HostLayout layout, int[] partitionHosts, bool[] written,
        CancellationToken cancellationToken)
    {
        var partitions = partitionHosts.Length - 1;
        var readers = new IAsyncEnumerator<string>[partitions];
        var uploads = new List<Task>();
        try
        {
            for (var p = 0; p < partitions; p++)
            {
                readers[p] = store.ReadLinesAsync(BlobNames.PlanPartitionInBatchOrder(plan.JobId, p), ScratchBufferBytes, cancellationToken)
                    .GetAsyncEnumerator(cancellationToken);
            }

            for (var shard = 0; shard < plan.ShardCount; shard++)
            {
                var (first, count) = BatchLayout.ShardBatches(plan, shard);
                var batches = new List<string>[count];
                for (var batch = first; batch < first + count; batch++)
                {
                    var urls = batches[batch - first] = [];
                    for (var s = layout.BatchStarts[batch]; s < layout.BatchStarts[batch + 1]; s++)
                    {
                        var segment = layout.Segments[s];
                        var reader = readers[PartitionOfHostId(partitionHosts, segment.Host)];
                        for (var i = 0; i < segment.Count; i++)
                        {
                            urls.Add(await reader.MoveNextAsync().ConfigureAwait(false)
                                ? reader.Current
                                : throw new InvalidDataException($"A partition of job '{plan.JobId}' ended before its plan did."));
                        }
                    }
                }

                if (written[shard])
                {
                    continue;
                }

                if (uploads.Count == ManifestUploadConcurrency)
                {
                    var done = await Task.WhenAny(uploads).ConfigureAwait(false);
                    uploads.Remove(done);
                    await done.ConfigureAwait(false);
                }

                uploads.Add(store.WriteShardManifestAsync(plan.JobId, shard, first, batches, plan.PlanId, cancellationToken));
            }

            await Task.WhenAll(uploads).ConfigureAwait(false);
        }
        finally
        {
            foreach (var reader in readers)
            {
                if (reader is not null)
                {
                    await reader.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static int PartitionOfHostId(int[] partitionHosts, int host)
    {
        var index = Array.BinarySearch(partitionHosts, host);
        // An exact hit is a partition's first host (empty partitions share it with the next: take the last of them).
        if (index >= 0)
        {
            while (index + 1 < partitionHosts.Length - 1 && partitionHosts[index + 1] == host)
            {
                index++;
            }

            return index;
        }

        return ~index - 1;
    }

    private async Task DeleteScratchAsync(string jobId, int partitions, CancellationToken cancellationToken)
    {
        var names = Enumerable.Range(0, partitions)
            .SelectMany(p => new[] { BlobNames.PlanPartition(jobId, p), BlobNames.PlanPartitionInBatchOrder(jobId, p) });
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (name, token) => await store.Container.DeleteBlobIfExistsAsync(name, cancellationToken: token).ConfigureAwait(false))
            .ConfigureAwait(false);
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

    private async Task<string[]> ReadUrlsAsync(StoredJob job, PlanFingerprint fingerprint, CancellationToken cancellationToken)
    {
        var urls = new string[job.UrlCount];
        var count = 0;
        await foreach (var url in ReadJobUrlsAsync(job, cancellationToken).ConfigureAwait(false))
        {
            fingerprint.AddUrl(url);
            urls[count++] = url;
        }

        return urls;
    }

    /// <summary>The job's URLs, checked against the count job.json announces.</summary>
    private async IAsyncEnumerable<string> ReadJobUrlsAsync(StoredJob job, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var count = 0;
        await foreach (var line in store.ReadLinesAsync(job.UrlListBlobName, cancellationToken).ConfigureAwait(false))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (count == job.UrlCount)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"'{job.UrlListBlobName}' holds more than the {job.UrlCount} URLs job.json announces."));
            }

            count++;
            yield return line;
        }

        if (count != job.UrlCount)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{job.UrlListBlobName}' holds {count} URLs; job.json announces {job.UrlCount}."));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Crawl {JobId}: planning phase {Phase} took {Milliseconds} ms")]
    private static partial void LogPhase(ILogger logger, string jobId, string phase, double milliseconds);

    /// <summary>Logs how long each phase of one plan took (the benchmark prints them; an operator can see where a slow
    /// plan spends its time).</summary>
    private sealed class PhaseClock(ILogger logger, string jobId)
    {
        private long _started = Stopwatch.GetTimestamp();

        public void Done(string phase)
        {
            var now = Stopwatch.GetTimestamp();
            var milliseconds = Stopwatch.GetElapsedTime(_started, now).TotalMilliseconds;
            LogPhase(logger, jobId, phase, milliseconds);
            _started = now;
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Crawl {JobId}: {UrlCount} URLs planned in {BatchCount} batches and {ShardCount} shards, {LaneCount} lanes, {Partitions} partitions")]
    private static partial void LogPlanned(ILogger logger, string jobId, int urlCount, int batchCount, int shardCount, int laneCount, int partitions);
}
