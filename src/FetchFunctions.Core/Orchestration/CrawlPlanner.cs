using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Azure;
using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Orchestration;

/// <summary>Splits a stored job into batches, written as one manifest per shard. Deterministic: the same job gives the same manifests, so a
/// retried plan activity rewrites identical blobs. A plan's fingerprint (<see cref="CrawlPlan.PlanId"/>) tags its manifests and
/// results: manifests of the same plan are kept as they are, and so are its results (a re-run resumes).
/// <para>Memory does not grow with the job. A job of at most <see cref="CrawlOptions.PlanPartitionUrls"/> URLs is read once
/// into memory (as UTF-8 bytes), grouped by host and laid out. A bigger one is read three times, keeping only a few ints
/// per host: (1) the list, counting each host's URLs by a hash of its name (<see cref="HostHashTable"/>), hosts numbered
/// partition after partition (P partitions by that hash) in order of first appearance within each, as they were when
/// partitions were blobs of their own; the hosts are laid out (<see cref="BatchLayout.Assign"/>); (2) the list again,
/// each URL written with its place in the manifests to a spill blob per group of shards (about
/// <see cref="CrawlOptions.PlanPartitionUrls"/> URLs a group); (3) each spill blob alone, its URLs put in their places and
/// its shards' manifests written. So at most one group's URLs are in memory, plus the host table and the layout.</para></summary>
internal sealed partial class CrawlPlanner(JobStore store, IOptions<CrawlOptions> crawlOptions, ILogger<CrawlPlanner> logger)
{
    /// <summary>The planner's rules, in the fingerprint: bump it when a change of the planner lays out the same job otherwise.</summary>
    internal const int RulesVersion = 2;

    /// <summary>The most host-hash partitions a job's hosts are ordered by, and the most spill blobs (one writer each) open at once.</summary>
    internal const int MaxPartitions = 64;

    private const int ManifestUploadConcurrency = 8;

    /// <summary>Range reads of a list or spill blob: 4 MiB each, two more downloading while one is worked on.</summary>
    private const int ReadBlockBytes = 4 * 1024 * 1024;

    private const int ReadAhead = 2;

    /// <summary>What the spill writers buffer together (their blocks share it), and how many blocks upload at once.</summary>
    private const int SpillBufferBytes = 32 * 1024 * 1024;

    private const int SpillUploadConcurrency = 4;

    /// <summary>Bytes before the URL in a spill line: its place in the group, 6 bits a byte (0x40-0x7F, never a line break).</summary>
    private const int PlaceBytes = 5;

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
            // Every reading of the list reads this version of it: a list replaced meanwhile fails the plan, not mixes two lists.
            var version = await store.VersionOfAsync(job.UrlListBlobName, cancellationToken).ConfigureAwait(false);
            Utf8UrlList? urls = null;
            int[] order = [];
            int[] hostStarts = [];
            HostCounts? hosts = null;
            int[] hostSizes;
            if (partitions == 1)
            {
                urls = await ReadUrlsAsync(job, version, fingerprint, cancellationToken).ConfigureAwait(false);
                phases.Done("read list");
                (order, hostStarts) = GroupByHost(urls);
                hostSizes = HostSizes(hostStarts);
                phases.Done("group by host");
            }
            else
            {
                hosts = await CountHostsAsync(job, version, partitions, fingerprint, cancellationToken).ConfigureAwait(false);
                hostSizes = hosts.TakeSizes();
                phases.Done("read list, count hosts");
            }

            var layout = BatchLayout.Assign(hostSizes, job.Settings.BatchSize, hostsPerLane, job.Settings.MaxBatchesInFlight);
            hostSizes = [];
            var plan = BatchLayout.Plan(job.JobId, layout, job.DuplicatesRemoved, options.BatchesPerShard, job.Settings.MaxBatchesInFlight)
                with
                {
                    PlanId = fingerprint.Finish(),
                    MaxDepth = job.Settings.Discovery?.MaxDepth,
                    FollowSitemaps = job.Settings.Discovery?.FollowSitemaps ?? false,
                };
            CheckShards(job.JobId, plan);
            phases.Done("layout");
            var written = await ManifestsOfPlanAsync(plan, cancellationToken).ConfigureAwait(false);
            phases.Done("check manifests");
            if (written.Any(done => !done))
            {
                var places = new ManifestPlaces(plan, layout);
                if (urls is not null)
                {
                    await WriteManifestsAsync(plan, places, written, urls, order, hostStarts, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    var groups = SpillGroups(plan, places, options.PlanPartitionUrls);
                    await SpillAsync(job, version, hosts!, places, groups, written, cancellationToken).ConfigureAwait(false);
                    // The host table is done with: let it go before a group's URLs are held (with every URL its own host,
                    // it is the plan's biggest part).
                    hosts = null;
                    phases.Done("read list, spill in manifest order");
                    await WriteManifestsFromSpillAsync(plan, places, groups, written, cancellationToken).ConfigureAwait(false);
                }
            }

            phases.Done("write manifests");
            await store.DeleteStaleRunBlobsAsync(job.JobId, plan.BatchCount, plan.ShardCount, plan.PlanId,
                await KeepsRoundsAsync(job, plan.PlanId!, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            if (job.Settings.Discovery is not null)
            {
                await store.UploadAsync(FrontierBlobNames.SeedPlan(job.JobId), BinaryData.FromString(plan.PlanId!), JobStore.TextContentType, cancellationToken)
                    .ConfigureAwait(false);
            }

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
                await DeleteScratchAsync(job.JobId, CancellationToken.None).ConfigureAwait(false);
                phases.Done("delete scratch");
            }
        }
    }

    /// <summary>Lays out a round of discovery: the <paramref name="urlCount"/> lines of <paramref name="roundBlob"/>
    /// (<c>url\tfoundOn</c>, each URL new to the job) grouped by host into batches from the round's first
    /// shard, after every batch planned before; the manifests keep each line whole, so a batch
    /// knows where each of its URLs was found. The round's plan id covers the seeds' plan, the depth and the lines, so a
    /// re-run of the same round keeps its manifests and results. A round is grouped in memory: its URLs are at most
    /// maxPages.</summary>
    public async Task<CrawlPlan> PlanRoundAsync(StoredJob job, RoundTicket round, string roundBlob, int urlCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(round);
        var options = crawlOptions.Value;
        var hostsPerLane = HostsPerLane(job.Settings, options);
        using var fingerprint = new PlanFingerprint(job.Settings, options.BatchesPerShard, hostsPerLane, partitions: 1);
        fingerprint.AddUrl(string.Create(CultureInfo.InvariantCulture, $"round {round.Depth} of plan {round.SeedPlanId}"));
        var lines = new List<string>(urlCount);
        await foreach (var line in store.ReadLinesAsync(roundBlob, cancellationToken).ConfigureAwait(false))
        {
            if (line.Length > 0)
            {
                fingerprint.AddUrl(line);
                lines.Add(line);
            }
        }

        if (lines.Count != urlCount)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"'{roundBlob}' holds {lines.Count} URLs; its round planned {urlCount}."));
        }

        var (order, hostStarts) = GroupByHost(lines);
        var layout = BatchLayout.Assign(HostSizes(hostStarts), job.Settings.BatchSize, hostsPerLane, job.Settings.MaxBatchesInFlight);
        var plan = BatchLayout.Plan(job.JobId, layout, 0, options.BatchesPerShard, job.Settings.MaxBatchesInFlight)
            with { PlanId = fingerprint.Finish(), FirstShard = round.FirstShard, Depth = round.Depth };
        CheckShards(job.JobId, plan);
        var written = await ManifestsOfPlanAsync(plan, cancellationToken).ConfigureAwait(false);
        if (written.Any(done => !done))
        {
            await WriteManifestsAsync(plan, written, batch => BatchUrls(lines, order, hostStarts, layout, batch), cancellationToken).ConfigureAwait(false);
        }

        LogRoundLaidOut(logger, job.JobId, round.Depth, plan.UrlCount, plan.BatchCount, plan.FirstBatch);
        return plan;
    }

    /// <summary>Whether the rounds of discovery already stored for the job (their frontier, link logs, manifests and
    /// results, all after the seeds' batches) belong to this plan of its seeds, so a re-run keeps them; any other plan
    /// of the job starts its discovery afresh.</summary>
    private async Task<bool> KeepsRoundsAsync(StoredJob job, string planId, CancellationToken cancellationToken)
    {
        if (job.Settings.Discovery is null)
        {
            return false;
        }

        try
        {
            var stored = (await store.Container.GetBlobClient(FrontierBlobNames.SeedPlan(job.JobId)).DownloadContentAsync(cancellationToken).ConfigureAwait(false))
                .Value.Content.ToString();
            return string.Equals(stored, planId, StringComparison.Ordinal);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    private static void CheckShards(string jobId, CrawlPlan plan)
    {
        if (plan.ShardCount > CrawlOptions.MaxShardsPerJob)
        {
            // Intake checked the limit for full batches, but grouping by host may need more batches, and
            // Crawl:BatchesPerShard may have been lowered since: fail plainly rather than schedule more calls than one
            // orchestration history should hold.
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Job {jobId} needs {plan.ShardCount} shards of {plan.BatchesPerShard} batches; at most {CrawlOptions.MaxShardsPerJob} are allowed."));
        }
    }

    /// <summary>Partitions a job of <paramref name="urlCount"/> URLs is split into: none below
    /// <paramref name="urlsPerPartition"/> + 1 URLs (one, in memory), at most <see cref="MaxPartitions"/>.</summary>
    internal static int PartitionCount(int urlCount, int urlsPerPartition) =>
        (int)Math.Clamp(((long)urlCount + urlsPerPartition - 1) / Math.Max(1, urlsPerPartition), 1, MaxPartitions);

    /// <summary>The partition of a host: a hash of its name, so every URL of a host goes to the same one.</summary>
    internal static int PartitionOf(ReadOnlySpan<char> host, int partitions) =>
        partitions <= 1 ? 0 : (int)(HostHash(host) % (ulong)partitions);

    /// <summary>The hash hosts are partitioned and counted by: XxHash3 of the name's UTF-16 code units.</summary>
    internal static ulong HostHash(ReadOnlySpan<char> host) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(host));

    /// <summary>The host of a URL line, decoded into <paramref name="scratch"/> (grown when too short).</summary>
    private static ReadOnlySpan<char> HostOf(ReadOnlySpan<byte> url, ref char[] scratch)
    {
        var host = UrlNormaliser.HostOf(url);
        if (scratch.Length < host.Length)
        {
            scratch = new char[Math.Max(host.Length, 2 * scratch.Length)];
        }

        return scratch.AsSpan(0, Encoding.UTF8.GetChars(host, scratch));
    }

    /// <summary>Which shards already have a manifest of this plan (a re-run of the same plan keeps them).</summary>
    private async Task<bool[]> ManifestsOfPlanAsync(CrawlPlan plan, CancellationToken cancellationToken)
    {
        var written = new bool[plan.ShardCount];
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.ShardCount),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (shard, token) => written[shard] =
                await store.PlanIdOfAsync(BlobNames.ShardManifest(plan.JobId, plan.FirstShard + shard), token).ConfigureAwait(false) == plan.PlanId)
            .ConfigureAwait(false);
        return written;
    }

    /// <summary>The manifests of a job held in memory, each built from its batches' host segments.</summary>
    private async Task WriteManifestsAsync(CrawlPlan plan, ManifestPlaces places, bool[] written, Utf8UrlList urls, int[] order, int[] hostStarts,
        CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.ShardCount).Where(shard => !written[shard]),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (shard, token) =>
            {
                var (first, count) = BatchLayout.ShardBatches(plan, shard);
                using var manifest = new ShardManifestBuffer(count, ManifestCapacity(places, first, count));
                for (var batch = first; batch < first + count; batch++)
                {
                    manifest.StartBatch();
                    foreach (var segment in places.Layout.Batch(batch))
                    {
                        var start = hostStarts[segment.Host] + segment.Offset;
                        for (var position = start; position < start + segment.Count; position++)
                        {
                            manifest.AddUrl(urls[order[position]]);
                        }
                    }
                }

                await store.WriteShardManifestAsync(plan.JobId, plan.FirstShard + shard, plan.FirstBatch + first, manifest, plan.PlanId, token).ConfigureAwait(false);
            })
            .ConfigureAwait(false);

    /// <summary>The manifests of a round of discovery, each batch's lines given whole (see <see cref="PlanRoundAsync"/>).</summary>
    private async Task WriteManifestsAsync(CrawlPlan plan, bool[] written, Func<int, IEnumerable<string>> batchUrls, CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.ShardCount).Where(shard => !written[shard]),
            new ParallelOptions { MaxDegreeOfParallelism = ManifestUploadConcurrency, CancellationToken = cancellationToken },
            async (shard, token) =>
            {
                var (first, count) = BatchLayout.ShardBatches(plan, shard);
                await store.WriteShardManifestAsync(plan.JobId, plan.FirstShard + shard, plan.FirstBatch + first,
                    Enumerable.Range(first, count).Select(batchUrls), plan.PlanId, token).ConfigureAwait(false);
            })
            .ConfigureAwait(false);

    /// <summary>A first guess of a manifest body's size (50 bytes a URL), so its buffer rarely grows.</summary>
    private static int ManifestCapacity(ManifestPlaces places, int firstBatch, int count) =>
        (int)Math.Min(Array.MaxLength / 2, 50L * (places.OfBatch(firstBatch + count) - places.OfBatch(firstBatch)) + 1024);

    /// <summary>Reading 1: the job's URLs, feeding the fingerprint; counts each host's URLs (by host hash) and numbers the
    /// hosts partition after partition, in order of first appearance within each.</summary>
    private async Task<HostCounts> CountHostsAsync(StoredJob job, ETag version, int partitions, PlanFingerprint fingerprint, CancellationToken cancellationToken)
    {
        var table = new HostHashTable();
        var sizes = new List<int>();
        var partitionOf = new List<byte>();
        var scratch = new char[256];
        var count = 0;
        await foreach (var block in store.ReadLineBlocksAsync(job.UrlListBlobName, version, ReadBlockBytes, ReadAhead, cancellationToken).ConfigureAwait(false))
        {
            var offset = 0;
            while (Utf8Lines.TryRead(block.Span, ref offset, out var url))
            {
                CheckNotMore(job, ++count);
                fingerprint.AddUrl(url);
                var hash = HostHash(HostOf(url, ref scratch));
                var id = table.GetOrAdd(hash, out var added);
                if (added)
                {
                    sizes.Add(0);
                    partitionOf.Add((byte)(hash % (ulong)partitions));
                }

                CollectionsMarshal.AsSpan(sizes)[id]++;
            }
        }

        CheckCount(job, count);

        // Ids in order of first appearance become ids partition after partition (first appearance within each).
        var partitionHosts = new int[partitions + 1];
        foreach (var partition in partitionOf)
        {
            partitionHosts[partition + 1]++;
        }

        for (var p = 0; p < partitions; p++)
        {
            partitionHosts[p + 1] += partitionHosts[p];
        }

        var next = partitionHosts[..^1];
        var newIds = new int[sizes.Count];
        var sizesInOrder = new int[sizes.Count];
        for (var id = 0; id < newIds.Length; id++)
        {
            newIds[id] = next[partitionOf[id]]++;
            sizesInOrder[newIds[id]] = sizes[id];
        }

        table.Renumber(newIds);
        return new HostCounts(table, sizesInOrder);
    }

    /// <summary>Groups of consecutive shards, each of about <paramref name="urlsPerGroup"/> URLs (at least one shard), at
    /// most <see cref="MaxPartitions"/> of them.</summary>
    private static SpillGroup[] SpillGroups(CrawlPlan plan, ManifestPlaces places, int urlsPerGroup)
    {
        var target = Math.Max((long)urlsPerGroup, ((long)plan.UrlCount + MaxPartitions - 1) / MaxPartitions);
        while (true)
        {
            var groups = new List<SpillGroup>();
            var firstShard = 0;
            for (var shard = 0; shard < plan.ShardCount; shard++)
            {
                // A group ends at the last shard, or where the next shard would take it past the target.
                var start = places.OfShard(plan, firstShard);
                var end = places.OfShard(plan, shard + 1);
                if (shard == plan.ShardCount - 1 || places.OfShard(plan, shard + 2) - start > target)
                {
                    groups.Add(new SpillGroup(firstShard, shard + 1 - firstShard, start, end - start));
                    firstShard = shard + 1;
                }
            }

            if (groups.Count <= MaxPartitions)
            {
                return [.. groups];
            }

            target *= 2;
        }
    }

    /// <summary>Reading 2: the job's URLs again, each written with its place to the spill blob of its group of shards
    /// (groups whose manifests are all written already are skipped).</summary>
    private async Task SpillAsync(StoredJob job, ETag version, HostCounts hosts, ManifestPlaces places, SpillGroup[] groups, bool[] written,
        CancellationToken cancellationToken)
    {
        var cursors = new HostCursors(places.Layout, hosts.Count);
        var groupOfSegment = new byte[places.Layout.Segments.Length];
        for (var g = 0; g < groups.Length; g++)
        {
            for (var batch = groups[g].FirstShard * places.BatchesPerShard;
                 batch < Math.Min(places.Layout.BatchCount, (groups[g].FirstShard + groups[g].ShardCount) * places.BatchesPerShard); batch++)
            {
                groupOfSegment.AsSpan(places.Layout.BatchStarts[batch], places.Layout.BatchStarts[batch + 1] - places.Layout.BatchStarts[batch]).Fill((byte)g);
            }
        }

        var writers = new StagedBlobWriter?[groups.Length];
        var uploads = new Queue<Task>();
        try
        {
            var blockBytes = Math.Clamp(SpillBufferBytes / groups.Length, 256 * 1024, ReadBlockBytes);
            for (var g = 0; g < groups.Length; g++)
            {
                if (Enumerable.Range(groups[g].FirstShard, groups[g].ShardCount).Any(shard => !written[shard]))
                {
                    writers[g] = store.CreateBlobWriter(BlobNames.PlanSpill(job.JobId, g), blockBytes);
                }
            }

            var state = new SpillState(job, hosts.Table, cursors, places, groups, groupOfSegment, writers);
            await foreach (var block in store.ReadLineBlocksAsync(job.UrlListBlobName, version, ReadBlockBytes, ReadAhead, cancellationToken).ConfigureAwait(false))
            {
                var offset = 0;
                while (offset < block.Length)
                {
                    // Stops at a full block, which uploads while the spilling goes on.
                    if (SpillLines(block.Span, ref offset, state) is { } full)
                    {
                        uploads.Enqueue(full.StageAsync(cancellationToken));
                        while (uploads.Count > SpillUploadConcurrency)
                        {
                            await uploads.Dequeue().ConfigureAwait(false);
                        }
                    }
                }
            }

            CheckCount(job, state.Count);
            cursors.CheckAllPlaced(job.JobId);
            while (uploads.TryDequeue(out var upload))
            {
                await upload.ConfigureAwait(false);
            }

            await Task.WhenAll(writers.OfType<StagedBlobWriter>().Select(writer => writer.CommitAsync(JobStore.TextContentType, cancellationToken)))
                .ConfigureAwait(false);
        }
        finally
        {
            // Uploads in flight when spilling failed end before their buffers go back to the pool.
            await Task.WhenAll(uploads).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var writer in writers)
            {
                writer?.Dispose();
            }
        }
    }

    /// <summary>Spills the lines of <paramref name="block"/> from <paramref name="offset"/> until a spill writer's block is
    /// full (returned, to be staged) or the block ends (null).</summary>
    private static StagedBlobWriter? SpillLines(ReadOnlySpan<byte> block, ref int offset, SpillState state)
    {
        Span<byte> place = stackalloc byte[PlaceBytes];
        var scratch = new char[256];
        while (Utf8Lines.TryRead(block, ref offset, out var url))
        {
            CheckNotMore(state.Job, ++state.Count);
            var id = state.Hosts.IdOf(HostHash(HostOf(url, ref scratch)));
            if (id < 0)
            {
                throw new InvalidDataException($"The URL list of job '{state.Job.JobId}' changed while it was planned.");
            }

            var (segment, within) = state.Cursors.Next(id, state.Job.JobId);
            var group = state.GroupOfSegment[segment];
            if (state.Writers[group] is not { } writer)
            {
                continue;
            }

            WritePlace(place, state.Places.OfSegment(segment) + within - state.Groups[group].FirstPlace);
            if (writer.Append(place, url))
            {
                return writer;
            }
        }

        offset = block.Length;
        return null;
    }

    /// <summary>Reading 3: each group's spill blob into memory, its URLs in their places, and its shards' manifests written,
    /// a few uploads overlapping the next group's reading.</summary>
    private async Task WriteManifestsFromSpillAsync(CrawlPlan plan, ManifestPlaces places, SpillGroup[] groups, bool[] written,
        CancellationToken cancellationToken)
    {
        var uploads = new Queue<Task>();
        Utf8UrlList? urls = null;
        try
        {
            for (var g = 0; g < groups.Length; g++)
            {
                var group = groups[g];
                var shards = Enumerable.Range(group.FirstShard, group.ShardCount).Where(shard => !written[shard]).ToList();
                if (shards.Count == 0)
                {
                    continue;
                }

                urls ??= new Utf8UrlList(group.Urls);
                var slots = new int[group.Urls];
                slots.AsSpan().Fill(-1);
                await foreach (var block in store.ReadLineBlocksAsync(BlobNames.PlanSpill(plan.JobId, g), null, ReadBlockBytes, ReadAhead, cancellationToken)
                    .ConfigureAwait(false))
                {
                    PlaceLines(block.Span, urls, slots, plan.JobId);
                }

                if (urls.Count != group.Urls)
                {
                    throw new InvalidDataException($"A spill blob of job '{plan.JobId}' holds {urls.Count} URLs, not {group.Urls}.");
                }

                foreach (var shard in shards)
                {
                    var (first, count) = BatchLayout.ShardBatches(plan, shard);
                    var manifest = new ShardManifestBuffer(count, ManifestCapacity(places, first, count));
                    for (var batch = first; batch < first + count; batch++)
                    {
                        manifest.StartBatch();
                        for (var slot = places.OfBatch(batch) - group.FirstPlace; slot < places.OfBatch(batch + 1) - group.FirstPlace; slot++)
                        {
                            manifest.AddUrl(urls[slots[slot]]);
                        }
                    }

                    if (uploads.Count == ManifestUploadConcurrency)
                    {
                        await uploads.Dequeue().ConfigureAwait(false);
                    }

                    uploads.Enqueue(UploadManifestAsync(plan, shard, first, manifest, cancellationToken));
                }

                urls.Clear();
            }

            while (uploads.TryDequeue(out var upload))
            {
                await upload.ConfigureAwait(false);
            }
        }
        finally
        {
            await Task.WhenAll(uploads).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task UploadManifestAsync(CrawlPlan plan, int shard, int firstBatch, ShardManifestBuffer manifest, CancellationToken cancellationToken)
    {
        using (manifest)
        {
            await store.WriteShardManifestAsync(plan.JobId, plan.FirstShard + shard, plan.FirstBatch + firstBatch, manifest, plan.PlanId, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Puts each URL of a block of spill lines into its slot of the group.</summary>
    private static void PlaceLines(ReadOnlySpan<byte> block, Utf8UrlList urls, int[] slots, string jobId)
    {
        foreach (var line in new Utf8Lines(block))
        {
            var slot = line.Length > PlaceBytes ? ReadPlace(line[..PlaceBytes]) : -1;
            if ((uint)slot >= (uint)slots.Length || slots[slot] >= 0)
            {
                throw new InvalidDataException($"A spill blob of job '{jobId}' is damaged.");
            }

            slots[slot] = urls.Add(line[PlaceBytes..]);
        }
    }

    private static void WritePlace(Span<byte> place, int value)
    {
        for (var i = PlaceBytes - 1; i >= 0; i--)
        {
            place[i] = (byte)(0x40 | (value & 0x3F));
            value >>= 6;
        }
    }

    private static int ReadPlace(ReadOnlySpan<byte> place)
    {
        var value = 0;
        foreach (var b in place)
        {
            if ((b & 0xC0) != 0x40)
            {
                return -1;
            }

            value = (value << 6) | (b & 0x3F);
        }

        return value;
    }

    private async Task DeleteScratchAsync(string jobId, CancellationToken cancellationToken)
    {
        // Listed, not named: an interrupted plan of another layout (or of the planner before this one) left its own names.
        var names = new List<string>();
        await foreach (var item in store.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = BlobNames.PlanScratchPrefix(jobId) },
            cancellationToken).ConfigureAwait(false))
        {
            names.Add(item.Name);
        }

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
        var hostIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = hostIds.GetAlternateLookup<ReadOnlySpan<char>>();
        var hostOf = new int[urls.Count];
        var counts = new List<int>();
        for (var i = 0; i < urls.Count; i++)
        {
            hostOf[i] = HostId(lookup, UrlNormaliser.HostOf(urls[i]), counts);
        }

        return Group(hostOf, counts);
    }

    /// <summary><see cref="GroupByHost(IReadOnlyList{string})"/> of URLs held as UTF-8: the same hosts, the same order.</summary>
    internal static (int[] Order, int[] HostStarts) GroupByHost(Utf8UrlList urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        var hostIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = hostIds.GetAlternateLookup<ReadOnlySpan<char>>();
        var hostOf = new int[urls.Count];
        var counts = new List<int>();
        var scratch = new char[256];
        for (var i = 0; i < urls.Count; i++)
        {
            hostOf[i] = HostId(lookup, HostOf(urls[i], ref scratch), counts);
        }

        return Group(hostOf, counts);
    }

    private static int HostId(Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup, ReadOnlySpan<char> host, List<int> counts)
    {
        if (!lookup.TryGetValue(host, out var id))
        {
            id = counts.Count;
            lookup[host] = id;
            counts.Add(0);
        }

        CollectionsMarshal.AsSpan(counts)[id]++;
        return id;
    }

    private static (int[] Order, int[] HostStarts) Group(int[] hostOf, List<int> counts)
    {
        var starts = new int[counts.Count + 1];
        for (var id = 0; id < counts.Count; id++)
        {
            starts[id + 1] = starts[id] + counts[id];
        }

        var next = starts[..^1];
        var order = new int[hostOf.Length];
        for (var i = 0; i < hostOf.Length; i++)
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

    /// <summary>The job's URLs, read once into memory, feeding the fingerprint.</summary>
    private async Task<Utf8UrlList> ReadUrlsAsync(StoredJob job, ETag version, PlanFingerprint fingerprint, CancellationToken cancellationToken)
    {
        var urls = new Utf8UrlList(job.UrlCount);
        await foreach (var block in store.ReadLineBlocksAsync(job.UrlListBlobName, version, ReadBlockBytes, ReadAhead, cancellationToken).ConfigureAwait(false))
        {
            foreach (var url in new Utf8Lines(block.Span))
            {
                CheckNotMore(job, urls.Count + 1);
                fingerprint.AddUrl(url);
                urls.Add(url);
            }
        }

        CheckCount(job, urls.Count);
        return urls;
    }

    /// <summary>Fails when the list holds more URLs than job.json announces (<paramref name="count"/> is the number read so far).</summary>
    private static void CheckNotMore(StoredJob job, int count)
    {
        if (count > job.UrlCount)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{job.UrlListBlobName}' holds more than the {job.UrlCount} URLs job.json announces."));
        }
    }

    private static void CheckCount(StoredJob job, int count)
    {
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
        Message = "Crawl {JobId}: round {Depth}'s {UrlCount} URLs laid out in {BatchCount} batches from batch {FirstBatch}")]
    private static partial void LogRoundLaidOut(ILogger logger, string jobId, int depth, int urlCount, int batchCount, int firstBatch);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Crawl {JobId}: {UrlCount} URLs planned in {BatchCount} batches and {ShardCount} shards, {LaneCount} lanes, {Partitions} partitions")]
    private static partial void LogPlanned(ILogger logger, string jobId, int urlCount, int batchCount, int shardCount, int laneCount, int partitions);
}
