using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Warc;

/// <summary>Merges a job's per-batch index parts (each sorted) into the job's byte-sorted <c>index.cdxj</c>, in two
/// steps: each shard merges its batches' parts into a shard index as it completes (<see cref="MergeShardAsync"/>, while
/// other shards still fetch), and the fan-in merges the shard indexes with the parts no shard index covers (a job of one
/// shard has only parts). Each merge is a k-way merge that streams, at most fan-in (<see cref="FanIn"/>) blobs open at
/// once (more are merged in rounds through intermediate blobs), written in staged blocks and committed whole, so memory
/// stays at a few buffers per open blob whatever the job's size. A job stored as blobs has no parts and gets no index.</summary>
/// <remarks>A part is a batch's few dozen lines, so a merge's time is the requests that open parts, not the lines: a part
/// is read with one request (its length and version come from the listing), <see cref="OpenConcurrency"/> at a time, and a
/// longer blob reads its next range while the merge works on the one before. (A 1,000,000-URL job has 20,000 parts;
/// merged all at fan-in on Azurite, which looks each blob up by a scan of the account's blobs, that took 6 to 40 min.)</remarks>
internal sealed class CdxjIndexMerger(JobStore store, int fanIn = CdxjIndexMerger.FanIn, int rangeBudgetBytes = CdxjIndexMerger.RangeBudgetBytes)
{
    /// <summary>Blobs read at once by default: together they hold at most <see cref="RangeBudgetBytes"/> of ranges.</summary>
    public const int FanIn = 256;

    /// <summary>Blobs opened at once (each open is the first range, and a properties request when the listing gave no length).</summary>
    internal const int OpenConcurrency = 16;

    /// <summary>The ranges one merge holds at most (two per open blob: the one read and the one downloading).</summary>
    internal const int RangeBudgetBytes = 32 * 1024 * 1024;

    private const string FirstBatchMetadata = "firstbatch";
    private const string BatchCountMetadata = "batchcount";
    private const string ContentType = "text/plain; charset=utf-8";

    /// <summary>Parts listed per prefix when a shard lists its own: batch numbers are written with at least 6 digits, so
    /// the name less its last 2 digits is the prefix of 100 batches.</summary>
    private const int BatchesPerListing = 100;

    private sealed record Source(string Name, long? Length, ETag? Version);

    /// <summary>Merges the parts of the shard's batches into its shard index; returns the lines written (0 and no shard
    /// index when its batches wrote no parts). Run again, it writes the same index.</summary>
    public async Task<long> MergeShardAsync(ShardIndexWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var prefix = BlobNames.IndexPartPrefix(work.JobId);
        var end = work.FirstBatch + work.BatchCount;
        var parts = new List<Source>();
        for (var hundred = work.FirstBatch / BatchesPerListing; hundred * BatchesPerListing < end; hundred++)
        {
            var listing = prefix + hundred.ToString("D4", CultureInfo.InvariantCulture);
            await foreach (var item in store.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = listing }, cancellationToken).ConfigureAwait(false))
            {
                // The prefix of 100 batches also matches longer numbers (0010 begins batch 1,000,000 too): the range drops them.
                if (BlobNames.BatchIndexOf(item.Name, prefix) is { } batch && batch >= work.FirstBatch && batch < end)
                {
                    parts.Add(new Source(item.Name, item.Properties.ContentLength, item.Properties.ETag));
                }
            }
        }

        if (parts.Count == 0)
        {
            return 0;
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FirstBatchMetadata] = work.FirstBatch.ToString(CultureInfo.InvariantCulture),
            [BatchCountMetadata] = work.BatchCount.ToString(CultureInfo.InvariantCulture),
        };
        return await MergeInRoundsAsync(parts, BlobNames.ShardIndex(work.JobId, work.ShardIndex), metadata,
            string.Create(CultureInfo.InvariantCulture, $"{work.JobId}/index-merge/shard-{work.ShardIndex:D6}-"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Merges the shard indexes and the parts none of them covers into the job's index; returns the lines written
    /// (0 and no index when there are neither).</summary>
    public async Task<long> MergeAsync(string jobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var sources = new List<Source>();
        var covered = new List<(int First, int End)>();
        await foreach (var item in store.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = BlobNames.ShardIndexPrefix(jobId), Traits = BlobTraits.Metadata },
            cancellationToken).ConfigureAwait(false))
        {
            if (item.Metadata is { } metadata && metadata.TryGetValue(FirstBatchMetadata, out var first) && metadata.TryGetValue(BatchCountMetadata, out var count)
                && int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var firstBatch)
                && int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var batchCount))
            {
                sources.Add(new Source(item.Name, item.Properties.ContentLength, item.Properties.ETag));
                covered.Add((firstBatch, firstBatch + batchCount));
            }
        }

        var prefix = BlobNames.IndexPartPrefix(jobId);
        await foreach (var item in store.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            if (BlobNames.BatchIndexOf(item.Name, prefix) is not { } batch || !covered.Exists(range => batch >= range.First && batch < range.End))
            {
                sources.Add(new Source(item.Name, item.Properties.ContentLength, item.Properties.ETag));
            }
        }

        if (sources.Count == 0)
        {
            return 0;
        }

        return await MergeInRoundsAsync(sources, BlobNames.Index(jobId), metadata: null, $"{jobId}/index-merge/job-", cancellationToken).ConfigureAwait(false);
    }

    private async Task<long> MergeInRoundsAsync(List<Source> sources, string target, Dictionary<string, string>? metadata, string temporaryPrefix,
        CancellationToken cancellationToken)
    {
        var temporary = new List<Source>();
        try
        {
            for (var round = 0; sources.Count > fanIn; round++)
            {
                var merged = new List<Source>();
                for (var group = 0; group * fanIn < sources.Count; group++)
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"{temporaryPrefix}{round:D2}-{group:D6}.cdxj");
                    await MergeIntoAsync(sources.GetRange(group * fanIn, Math.Min(fanIn, sources.Count - group * fanIn)), name, null, cancellationToken)
                        .ConfigureAwait(false);
                    merged.Add(new Source(name, null, null));
                    temporary.Add(merged[^1]);
                }

                sources = merged;
            }

            return await MergeIntoAsync(sources, target, metadata, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var source in temporary)
            {
                await store.Container.DeleteBlobIfExistsAsync(source.Name, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task<long> MergeIntoAsync(List<Source> parts, string target, Dictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var rangeBytes = Math.Clamp(rangeBudgetBytes / (2 * parts.Count), 64 * 1024, 4 * 1024 * 1024);
        var sources = new IAsyncEnumerator<string>?[parts.Count];
        try
        {
            var firsts = new string?[parts.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, parts.Count),
                new ParallelOptions { MaxDegreeOfParallelism = OpenConcurrency, CancellationToken = cancellationToken }, async (index, _) =>
                {
                    var source = LinesAsync(parts[index], rangeBytes, cancellationToken).GetAsyncEnumerator(cancellationToken);
                    sources[index] = source;
                    firsts[index] = await source.MoveNextAsync().ConfigureAwait(false) ? source.Current : null;
                }).ConfigureAwait(false);

            var queue = new PriorityQueue<int, string>(parts.Count, StringComparer.Ordinal);
            for (var index = 0; index < firsts.Length; index++)
            {
                if (firsts[index] is { } first)
                {
                    queue.Enqueue(index, first);
                }
            }

            using var writer = store.CreateTextWriter(target);
            while (queue.TryDequeue(out var index, out var line))
            {
                await writer.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
                var source = sources[index]!;
                if (await source.MoveNextAsync().ConfigureAwait(false))
                {
                    queue.Enqueue(index, source.Current);
                }
            }

            await writer.CommitAsync(ContentType, metadata, cancellationToken).ConfigureAwait(false);
            return writer.Lines;
        }
        finally
        {
            foreach (var source in sources)
            {
                if (source is not null)
                {
                    await source.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>A blob's non-empty lines, read by range with the next range downloading meanwhile.</summary>
    private async IAsyncEnumerable<string> LinesAsync(Source part, int rangeBytes,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var blocks = part is { Length: { } length, Version: { } version }
            ? store.ReadLineBlocksAsync(part.Name, length, version, rangeBytes, readAhead: 1, cancellationToken)
            : store.ReadLineBlocksAsync(part.Name, version: null, rangeBytes, readAhead: 1, cancellationToken);
        await foreach (var block in blocks.ConfigureAwait(false))
        {
            var offset = 0;
            while (NextLine(block.Span, ref offset) is { } line)
            {
                yield return line;
            }
        }
    }

    private static string? NextLine(ReadOnlySpan<byte> block, ref int offset) =>
        Utf8Lines.TryRead(block, ref offset, out var line) ? Encoding.UTF8.GetString(line) : null;
}
