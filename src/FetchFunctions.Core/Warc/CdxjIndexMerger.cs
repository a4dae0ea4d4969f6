using System.Globalization;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Warc;

/// <summary>Merges a job's per-batch index parts (each sorted) into the job's byte-sorted <c>index.cdxj</c> at fan-in:
/// a k-way merge that streams, at most fan-in (<see cref="FanIn"/>) parts open at once (more parts are merged in rounds through
/// intermediate blobs), written in staged blocks and committed whole, so memory stays at a few buffers whatever the
/// job's size. A job stored as blobs has no parts and gets no index.</summary>
internal sealed class CdxjIndexMerger(JobStore store, int fanIn = CdxjIndexMerger.FanIn)
{
    /// <summary>Parts read at once by default: each holds one download buffer.</summary>
    public const int FanIn = 64;

    private const int ReadBufferBytes = 16 * 1024;

    /// <summary>Returns the lines written (0 and no index when there are no parts).</summary>
    public async Task<long> MergeAsync(string jobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var parts = new List<string>();
        await foreach (var item in store.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = BlobNames.IndexPartPrefix(jobId) }, cancellationToken).ConfigureAwait(false))
        {
            parts.Add(item.Name);
        }

        if (parts.Count == 0)
        {
            return 0;
        }

        var temporary = new List<string>();
        try
        {
            for (var round = 0; parts.Count > fanIn; round++)
            {
                var merged = new List<string>();
                for (var group = 0; group * fanIn < parts.Count; group++)
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"{jobId}/index-merge/{round:D2}-{group:D6}.cdxj");
                    await MergeIntoAsync(parts.Skip(group * fanIn).Take(fanIn).ToList(), name, cancellationToken).ConfigureAwait(false);
                    merged.Add(name);
                    temporary.Add(name);
                }

                parts = merged;
            }

            return await MergeIntoAsync(parts, BlobNames.Index(jobId), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var name in temporary)
            {
                await store.Container.DeleteBlobIfExistsAsync(name, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task<long> MergeIntoAsync(List<string> parts, string target, CancellationToken cancellationToken)
    {
        var readers = new List<StreamReader>(parts.Count);
        try
        {
            var queue = new PriorityQueue<int, string>(parts.Count, StringComparer.Ordinal);
            foreach (var part in parts)
            {
                var stream = await store.Container.GetBlobClient(part).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = ReadBufferBytes },
                    cancellationToken).ConfigureAwait(false);
                var reader = new StreamReader(stream);
                readers.Add(reader);
                if (await NextLineAsync(reader, cancellationToken).ConfigureAwait(false) is { } line)
                {
                    queue.Enqueue(readers.Count - 1, line);
                }
            }

            using var writer = store.CreateTextWriter(target);
            while (queue.TryDequeue(out var index, out var line))
            {
                await writer.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
                if (await NextLineAsync(readers[index], cancellationToken).ConfigureAwait(false) is { } next)
                {
                    queue.Enqueue(index, next);
                }
            }

            await writer.CommitAsync("text/plain; charset=utf-8", cancellationToken).ConfigureAwait(false);
            return writer.Lines;
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }
        }
    }

    private static async Task<string?> NextLineAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length > 0)
            {
                return line;
            }
        }

        return null;
    }
}
