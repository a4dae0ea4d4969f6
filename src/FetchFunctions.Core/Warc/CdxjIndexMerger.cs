using System.Globalization;
using System.Text;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Warc;

/// <summary>Merges a job's per-batch index parts (each sorted) into the job's byte-sorted <c>index.cdxj</c> at fan-in:
/// a k-way merge that streams, at most fan-in (<see cref="FanIn"/>) parts open at once (more parts are merged in rounds through
/// intermediate blobs), written in staged blocks and committed whole, so memory stays at a few buffers per open part
/// whatever the job's size. A job stored as blobs has no parts and gets no index.</summary>
/// <remarks>A part is a batch's few dozen lines, so the merge's time is the requests that open parts, not the lines: a
/// part is read with one request (its length and version come from the listing), <see cref="OpenConcurrency"/> at a time,
/// and a longer blob reads its next range while the merge works on the one before. (A 1,000,000-URL job has 20,000
/// parts; opened one after another with a properties request each, they took about 40 min on Azurite.)</remarks>
internal sealed class CdxjIndexMerger(JobStore store, int fanIn = CdxjIndexMerger.FanIn, int rangeBudgetBytes = CdxjIndexMerger.RangeBudgetBytes)
{
    /// <summary>Parts read at once by default: together they hold at most <see cref="RangeBudgetBytes"/> of ranges.</summary>
    public const int FanIn = 256;

    /// <summary>Parts opened at once (each open is a properties request and the first range).</summary>
    internal const int OpenConcurrency = 16;

    /// <summary>The ranges one merge holds at most (two per open blob: the one read and the one downloading).</summary>
    internal const int RangeBudgetBytes = 32 * 1024 * 1024;

    private sealed record Source(string Name, long? Length, Azure.ETag? Version);

    /// <summary>Returns the lines written (0 and no index when there are no parts).</summary>
    public async Task<long> MergeAsync(string jobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var parts = new List<Source>();
        await foreach (var item in store.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = BlobNames.IndexPartPrefix(jobId) }, cancellationToken).ConfigureAwait(false))
        {
            parts.Add(new Source(item.Name, item.Properties.ContentLength, item.Properties.ETag));
        }

        if (parts.Count == 0)
        {
            return 0;
        }

        var temporary = new List<Source>();
        try
        {
            for (var round = 0; parts.Count > fanIn; round++)
            {
                var merged = new List<Source>();
                for (var group = 0; group * fanIn < parts.Count; group++)
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"{jobId}/index-merge/{round:D2}-{group:D6}.cdxj");
                    await MergeIntoAsync(parts.GetRange(group * fanIn, Math.Min(fanIn, parts.Count - group * fanIn)), name, cancellationToken)
                        .ConfigureAwait(false);
                    merged.Add(new Source(name, null, null));
                    temporary.Add(merged[^1]);
                }

                parts = merged;
            }

            return await MergeIntoAsync(parts, BlobNames.Index(jobId), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var name in temporary)
            {
                await store.Container.DeleteBlobIfExistsAsync(name.Name, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task<long> MergeIntoAsync(List<Source> parts, string target, CancellationToken cancellationToken)
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

            await writer.CommitAsync("text/plain; charset=utf-8", cancellationToken).ConfigureAwait(false);
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

    /// <summary>A part's non-empty lines, read by range with the next range downloading meanwhile.</summary>
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
