using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Storage;

/// <summary>The blobs of crawl jobs in the crawl container: JSON documents, text line by line, URL lists.</summary>
internal sealed class JobStore
{
    public const string JsonContentType = "application/json";
    public const string NdjsonContentType = "application/x-ndjson";
    public const string TextContentType = "text/plain; charset=utf-8";

    /// <summary>Blob metadata naming the plan (<see cref="CrawlPlan.PlanId"/>) a manifest or results blob belongs to.</summary>
    public const string PlanIdMetadata = "planid";

    /// <summary>Room for a shard manifest's header line: about 11 bytes per batch, and a shard has fewer than 1,000.</summary>
    internal const int MaxManifestHeaderBytes = 64 * 1024;

    public JobStore(BlobServiceClient service, IOptions<StorageOptions> storage)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(storage);
        Container = service.GetBlobContainerClient(storage.Value.ContainerName);
    }

    public BlobContainerClient Container { get; }

    public Task EnsureContainerAsync(CancellationToken cancellationToken) => Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    /// <summary>The stored job; a missing job.json is an error here, because only an accepted job gets this far.</summary>
    public async Task<StoredJob> ReadJobAsync(string jobBlobName, CancellationToken cancellationToken) =>
        await ReadJsonAsync(jobBlobName, CrawlJsonContext.Default.StoredJob, cancellationToken).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"No job is stored at '{jobBlobName}' in container '{Container.Name}'.");

    /// <summary>The document, or null when there is no such blob.</summary>
    public async Task<T?> ReadJsonAsync<T>(string blobName, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        try
        {
            var content = await Container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToObjectFromJson(typeInfo) is { } value
                ? value
                : throw new InvalidDataException($"Blob '{blobName}' holds JSON null.");
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return default;
        }
    }

    public Task WriteJsonAsync<T>(string blobName, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) =>
        UploadAsync(blobName, BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo)), JsonContentType, cancellationToken);

    /// <summary>Writes the blob whole, replacing what was there: a retried activity overwrites, never appends.</summary>
    public Task UploadAsync(string blobName, BinaryData content, string contentType, CancellationToken cancellationToken) =>
        UploadAsync(blobName, content, contentType, planId: null, cancellationToken);

    /// <summary>Writes the blob whole, tagged with the plan it belongs to (when there is one).</summary>
    public Task UploadAsync(string blobName, BinaryData content, string contentType, string? planId, CancellationToken cancellationToken) =>
        Container.GetBlobClient(blobName).UploadAsync(content, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
            Metadata = planId is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { [PlanIdMetadata] = planId },
        }, cancellationToken);

    /// <summary>The plan a blob was written for, or null when there is no such blob (or it names no plan).</summary>
    public async Task<string?> PlanIdOfAsync(string blobName, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await Container.GetBlobClient(blobName).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return properties.Value.Metadata.TryGetValue(PlanIdMetadata, out var planId) ? planId : null;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The stored results of a batch when they were written for <paramref name="planId"/>; null when there are
    /// none, or they belong to another plan.</summary>
    public async Task<IReadOnlyList<UrlResult>?> ReadBatchResultsAsync(string jobId, int batchIndex, string planId, CancellationToken cancellationToken)
    {
        BlobDownloadResult content;
        try
        {
            content = (await Container.GetBlobClient(BlobNames.BatchResults(jobId, batchIndex)).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        if (!content.Details.Metadata.TryGetValue(PlanIdMetadata, out var stored) || !string.Equals(stored, planId, StringComparison.Ordinal))
        {
            return null;
        }

        var results = new List<UrlResult>();
        foreach (var line in content.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            results.Add(JsonSerializer.Deserialize(line, CrawlJsonContext.Default.UrlResult)
                ?? throw new InvalidDataException($"A null line in the results of batch {batchIndex} of job '{jobId}'."));
        }

        return results;
    }

    /// <summary>The blob's lines (UTF-8), streamed.</summary>
    public IAsyncEnumerable<string> ReadLinesAsync(string blobName, CancellationToken cancellationToken) =>
        ReadLinesAsync(blobName, bufferBytes: null, cancellationToken);

    /// <summary>The blob's lines (UTF-8), streamed, downloading <paramref name="bufferBytes"/> at a time (the SDK's
    /// default, 4 MiB, when null): the planner keeps many such readers open at once.</summary>
    public async IAsyncEnumerable<string> ReadLinesAsync(string blobName, int? bufferBytes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = await Container.GetBlobClient(blobName).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = bufferBytes },
            cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                yield return line;
            }
        }
    }

    /// <summary>The blob's text in blocks of whole lines (each ends at a line break, or at the blob's end), for readers that
    /// take lines as spans (<see cref="Utf8Lines"/>) instead of a string each. Reads <paramref name="blockBytes"/> at a time
    /// by range, pinned to the blob's version, the next <paramref name="readAhead"/> ranges downloading while the caller
    /// works on this one. A block is valid only until the next is asked for. A UTF-8 byte order mark is skipped. With
    /// <paramref name="version"/>, the blob must still be that version (several readings of one list read the same list).</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadLineBlocksAsync(string blobName, ETag? version, int blockBytes, int readAhead,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockBytes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(readAhead);
        var properties = (await Container.GetBlobClient(blobName).GetPropertiesAsync(version is { } etag ? new BlobRequestConditions { IfMatch = etag } : null,
            cancellationToken).ConfigureAwait(false)).Value;
        await foreach (var block in ReadLineBlocksAsync(blobName, properties.ContentLength, properties.ETag, blockBytes, readAhead, cancellationToken)
            .ConfigureAwait(false))
        {
            yield return block;
        }
    }

    /// <summary><see cref="ReadLineBlocksAsync(string, ETag?, int, int, CancellationToken)"/> of a blob whose length and
    /// version a listing gave: no properties request (the merge at fan-in opens thousands of small blobs).</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadLineBlocksAsync(string blobName, long length, ETag version, int blockBytes, int readAhead,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockBytes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(readAhead);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var blob = Container.GetBlobClient(blobName);
        var conditions = new BlobRequestConditions { IfMatch = version };
        var ranges = (int)((length + blockBytes - 1) / blockBytes);
        var reads = new Queue<Task<byte[]>>();
        var next = 0;
        var carry = new ArrayBufferWriter<byte>();
        byte[]? held = null;
        var atStart = true;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            for (var range = 0; range < ranges; range++)
            {
                while (next < ranges && reads.Count <= readAhead)
                {
                    var offset = (long)next++ * blockBytes;
                    reads.Enqueue(DownloadRangeAsync(blob, offset, (int)Math.Min(blockBytes, length - offset), conditions, stop.Token));
                }

                if (held is not null)
                {
                    ArrayPool<byte>.Shared.Return(held);
                }

                held = await reads.Dequeue().ConfigureAwait(false);
                var block = held.AsMemory(0, (int)Math.Min(blockBytes, length - (long)range * blockBytes));
                var lastBreak = block.Span.LastIndexOfAny((byte)'\n', (byte)'\r');
                if (lastBreak < 0)
                {
                    carry.Write(block.Span);
                    continue;
                }

                if (carry.WrittenCount > 0)
                {
                    // The line begun in an earlier block ends in this one.
                    var firstBreak = block.Span.IndexOfAny((byte)'\n', (byte)'\r');
                    carry.Write(block.Span[..(firstBreak + 1)]);
                    yield return WithoutByteOrderMark(carry.WrittenMemory, ref atStart);
                    carry.ResetWrittenCount();
                    block = block[(firstBreak + 1)..];
                    lastBreak -= firstBreak + 1;
                }

                yield return WithoutByteOrderMark(block[..(lastBreak + 1)], ref atStart);
                carry.Write(block.Span[(lastBreak + 1)..]);
            }

            if (carry.WrittenCount > 0)
            {
                yield return WithoutByteOrderMark(carry.WrittenMemory, ref atStart);
            }
        }
        finally
        {
            // Reads still ahead are abandoned (the reader stopped early or failed): cancelled, and their outcome ignored.
            await stop.CancelAsync().ConfigureAwait(false);
            await ((Task)Task.WhenAll(reads)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var read in reads.Where(read => read.IsCompletedSuccessfully))
            {
                ArrayPool<byte>.Shared.Return(read.Result);
            }

            if (held is not null)
            {
                ArrayPool<byte>.Shared.Return(held);
            }
        }
    }

    /// <summary>The text less a UTF-8 byte order mark when it is the blob's first (the first text yielded always begins at
    /// the blob's start, so a mark split between two ranges is whole in it).</summary>
    private static ReadOnlyMemory<byte> WithoutByteOrderMark(ReadOnlyMemory<byte> text, ref bool atStart)
    {
        var first = atStart;
        atStart = false;
        return first && text.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? text[3..] : text;
    }

    /// <summary>The blob's current version, to read it several times as the same list (<see cref="ReadLineBlocksAsync(string, ETag?, int, int, CancellationToken)"/>).</summary>
    public async Task<ETag> VersionOfAsync(string blobName, CancellationToken cancellationToken) =>
        (await Container.GetBlobClient(blobName).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.ETag;

    private static async Task<byte[]> DownloadRangeAsync(BlobClient blob, long offset, int length, BlobRequestConditions conditions,
        CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var response = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, length), Conditions = conditions },
                cancellationToken).ConfigureAwait(false);
            var stream = response.Value.Content;
            await using (stream.ConfigureAwait(false))
            {
                await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }

            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>A user's URL list, pinned to its current version: reading it again after a change fails instead of
    /// storing URLs that were never validated. Null when there is no such blob.</summary>
    public async Task<IUrlSource?> OpenUrlListAsync(string blobName, int maxUrlLength, CancellationToken cancellationToken)
    {
        var blob = Container.GetBlobClient(blobName);
        ETag etag;
        try
        {
            etag = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.ETag;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        return new TextUrlSource(
            async token => await blob.OpenReadAsync(
                new BlobOpenReadOptions(allowModifications: false) { Conditions = new BlobRequestConditions { IfMatch = etag } },
                token).ConfigureAwait(false),
            maxUrlLength);
    }

    /// <summary>Writes a shard's manifest: a JSON header line (<see cref="ShardManifestHeader"/>), then the URLs of each
    /// batch, one per line, batch after batch. A batch activity reads the header and then only its own byte range.</summary>
    public async Task WriteShardManifestAsync(string jobId, int shardIndex, int firstBatch, IEnumerable<IEnumerable<string>> batches, string? planId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var list = batches.ToList();
        using var manifest = new ShardManifestBuffer(list.Count, 64 * 1024);
        foreach (var batch in list)
        {
            manifest.StartBatch();
            foreach (var url in batch)
            {
                manifest.AddUrl(url);
            }
        }

        await WriteShardManifestAsync(jobId, shardIndex, firstBatch, manifest, planId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a shard's manifest built in <paramref name="manifest"/> (see the overload of strings), its header
    /// put in the room left before the body, so the manifest is uploaded as it lies.</summary>
    public async Task WriteShardManifestAsync(string jobId, int shardIndex, int firstBatch, ShardManifestBuffer manifest, string? planId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var header = JsonSerializer.SerializeToUtf8Bytes(new ShardManifestHeader(jobId, shardIndex, firstBatch, manifest.Offsets()),
            CrawlJsonContext.Default.ShardManifestHeader);
        if (header.Length >= MaxManifestHeaderBytes)
        {
            throw new InvalidOperationException($"The manifest header of shard {shardIndex} is {header.Length} bytes; at most {MaxManifestHeaderBytes - 1} fit.");
        }

        await UploadAsync(BlobNames.ShardManifest(jobId, shardIndex), BinaryData.FromBytes(manifest.WithHeader(header)), TextContentType, planId,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The URLs of one batch, whatever plan its manifest belongs to.</summary>
    public async Task<BatchManifest> ReadBatchManifestAsync(string jobId, int batchIndex, int batchesPerShard, CancellationToken cancellationToken) =>
        await ReadBatchManifestAsync(jobId, batchIndex, batchesPerShard, planId: null, cancellationToken).ConfigureAwait(false);

    /// <summary>The URLs of one batch: two range reads of its shard's manifest, the second pinned to the first's version
    /// so a re-plan in between cannot mix two layouts. With <paramref name="planId"/>, a manifest of another plan (the
    /// job was planned again while this batch's run went on) is refused instead of fetched under the wrong layout.</summary>
    public async Task<BatchManifest> ReadBatchManifestAsync(string jobId, int batchIndex, int batchesPerShard, string? planId, CancellationToken cancellationToken)
    {
        var shardIndex = batchIndex / batchesPerShard;
        var name = BlobNames.ShardManifest(jobId, shardIndex);
        var blob = Container.GetBlobClient(name);
        BlobDownloadResult head;
        try
        {
            head = (await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(0, MaxManifestHeaderBytes) }, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new InvalidOperationException($"No manifest at '{name}': the job was not planned.", ex);
        }

        if (planId is not null
            && (!head.Details.Metadata.TryGetValue(PlanIdMetadata, out var manifestPlan) || !string.Equals(manifestPlan, planId, StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"'{name}' belongs to another plan of job '{jobId}' than batch {batchIndex}: the job was planned again.");
        }

        var headBytes = head.Content.ToMemory();
        var newline = headBytes.Span.IndexOf((byte)'\n');
        var header = newline < 0 ? null : JsonSerializer.Deserialize(headBytes.Span[..newline], CrawlJsonContext.Default.ShardManifestHeader);
        var local = batchIndex - (header?.FirstBatch ?? 0);
        if (header is null || header.JobId != jobId || header.ShardIndex != shardIndex || local < 0 || local >= header.Offsets.Length - 1)
        {
            throw new InvalidDataException($"'{name}' does not hold batch {batchIndex} of job '{jobId}'.");
        }

        var start = newline + 1 + header.Offsets[local];
        var length = header.Offsets[local + 1] - header.Offsets[local];
        if (length == 0)
        {
            return new BatchManifest(jobId, batchIndex, []);
        }

        var range = await blob.DownloadContentAsync(new BlobDownloadOptions
        {
            Range = new HttpRange(start, length),
            Conditions = new BlobRequestConditions { IfMatch = head.Details.ETag },
        }, cancellationToken).ConfigureAwait(false);
        var urls = Encoding.UTF8.GetString(range.Value.Content.ToMemory().Span).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new BatchManifest(jobId, batchIndex, urls);
    }

    /// <summary>Deletes what an earlier run of the same job id left beyond this run's shards and batches, its results of
    /// another plan than <paramref name="planId"/>, and its summary: a re-run of a changed job replaces the job's results
    /// instead of mixing with them, and a re-run of the same plan keeps the results it can resume from.</summary>
    public async Task DeleteStaleRunBlobsAsync(string jobId, int batchCount, int shardCount, string? planId, bool keepRounds, CancellationToken cancellationToken)
    {
        // Rounds of link discovery kept (the same plan of the seeds) hold every batch and shard after the seeds'.
        bool Beyond(int index, int count) => index >= count && !keepRounds;
        var stale = new List<string>();
        var manifestPrefix = BlobNames.BatchManifestPrefix(jobId);
        await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = manifestPrefix }, cancellationToken).ConfigureAwait(false))
        {
            if (BlobNames.ShardIndexOf(item.Name, jobId) is not { } shard || Beyond(shard, shardCount))
            {
                stale.Add(item.Name);
            }
        }

        var resultsPrefix = BlobNames.BatchResultsPrefix(jobId);
        await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = resultsPrefix, Traits = BlobTraits.Metadata }, cancellationToken).ConfigureAwait(false))
        {
            var samePlan = planId is not null && item.Metadata is { } metadata
                && metadata.TryGetValue(PlanIdMetadata, out var stored) && string.Equals(stored, planId, StringComparison.Ordinal);
            if (BlobNames.BatchIndexOf(item.Name, resultsPrefix) is not { } index || (index < batchCount ? !samePlan : Beyond(index, batchCount)))
            {
                stale.Add(item.Name);
            }
        }

        // Index parts of batches this plan does not have (the WARC store's), and the merged index, which fan-in rewrites.
        var indexPrefix = BlobNames.IndexPartPrefix(jobId);
        await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = indexPrefix }, cancellationToken).ConfigureAwait(false))
        {
            if (BlobNames.BatchIndexOf(item.Name, indexPrefix) is not { } index || Beyond(index, batchCount))
            {
                stale.Add(item.Name);
            }
        }

        // Shard indexes: every shard of this run merges its own again as it completes.
        await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = BlobNames.ShardIndexPrefix(jobId) }, cancellationToken).ConfigureAwait(false))
        {
            stale.Add(item.Name);
        }

        if (!keepRounds)
        {
            // The frontier and the link logs of another plan's rounds: this plan's discovery starts afresh.
            foreach (var prefix in new[] { Discovery.FrontierBlobNames.LinksPrefix(jobId), Discovery.FrontierBlobNames.FrontierPrefix(jobId) })
            {
                await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
                {
                    stale.Add(item.Name);
                }
            }
        }

        stale.Add(BlobNames.Index(jobId));
        await Parallel.ForEachAsync(stale, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (name, token) => await Container.DeleteBlobIfExistsAsync(name, cancellationToken: token).ConfigureAwait(false))
            .ConfigureAwait(false);
        await Container.DeleteBlobIfExistsAsync(BlobNames.Summary(jobId), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public StagedTextWriter CreateTextWriter(string blobName) => new(Container.GetBlockBlobClient(blobName));

    /// <summary>A staged writer of bytes whose blocks are about <paramref name="blockBytes"/> long (the planner keeps many open at once).</summary>
    public StagedBlobWriter CreateBlobWriter(string blobName, int blockBytes) => new(Container.GetBlockBlobClient(blobName), blockBytes);
}

/// <summary>A shard manifest built in one pooled buffer: the batches' URLs after room for the header line, which goes
/// just before them once the batches' offsets are known (no copy of the body, no buffer per manifest for the collector).</summary>
internal sealed class ShardManifestBuffer : IDisposable
{
    private const int HeaderRoom = JobStore.MaxManifestHeaderBytes;

    private readonly List<long> _offsets;
    private byte[] _buffer;
    private int _length = HeaderRoom;

    public ShardManifestBuffer(int batches, int bodyBytes)
    {
        _offsets = new List<long>(batches + 1);
        _buffer = ArrayPool<byte>.Shared.Rent(HeaderRoom + Math.Max(bodyBytes, 1024));
    }

    public void StartBatch() => _offsets.Add(_length - HeaderRoom);

    public void AddUrl(ReadOnlySpan<byte> url)
    {
        Ensure(url.Length + 1);
        url.CopyTo(_buffer.AsSpan(_length));
        _length += url.Length;
        _buffer[_length++] = (byte)'\n';
    }

    public void AddUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        Ensure(Encoding.UTF8.GetMaxByteCount(url.Length) + 1);
        _length += Encoding.UTF8.GetBytes(url, _buffer.AsSpan(_length));
        _buffer[_length++] = (byte)'\n';
    }

    /// <summary>Where each batch starts in the body, and the body's end.</summary>
    public long[] Offsets() => [.. _offsets, _length - HeaderRoom];

    /// <summary>The whole manifest: <paramref name="header"/> (shorter than the room), a line break, the body.</summary>
    public ReadOnlyMemory<byte> WithHeader(ReadOnlySpan<byte> header)
    {
        var start = HeaderRoom - header.Length - 1;
        header.CopyTo(_buffer.AsSpan(start));
        _buffer[HeaderRoom - 1] = (byte)'\n';
        return _buffer.AsMemory(start, _length - start);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void Ensure(int bytes)
    {
        if (_buffer.Length - _length < bytes)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + bytes, 2 * _buffer.Length));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
    }
}

/// <summary>Writes a text blob line by line in staged blocks and makes it visible only on <see cref="CommitAsync(string, CancellationToken)"/>:
/// a failure half-way leaves the previous version (or nothing), never half a list.</summary>
internal sealed class StagedTextWriter(BlockBlobClient blob, int blockBytes = 4 * 1024 * 1024) : IDisposable
{
    private readonly MemoryStream _buffer = new();
    private readonly List<string> _blockIds = [];

    // Block ids of this writer only, as in BlobBodySink: a concurrent writer of the same blob (the same job id submitted
    // twice at once) stages blocks of its own instead of overwriting this writer's uncommitted ones.
    private readonly string _writer = Guid.NewGuid().ToString("N");

    public long Lines { get; private set; }

    public async Task WriteLineAsync(string line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(line);
        var bytes = Encoding.UTF8.GetByteCount(line);
        var position = (int)_buffer.Length;
        _buffer.SetLength(position + bytes + 1);
        Encoding.UTF8.GetBytes(line, _buffer.GetBuffer().AsSpan(position, bytes));
        _buffer.GetBuffer()[position + bytes] = (byte)'\n';
        _buffer.Position = _buffer.Length;
        Lines++;
        if (_buffer.Length >= blockBytes)
        {
            await StageAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task CommitAsync(string contentType, CancellationToken cancellationToken) => CommitAsync(contentType, null, cancellationToken);

    public async Task CommitAsync(string contentType, IDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        if (_buffer.Length > 0)
        {
            await StageAsync(cancellationToken).ConfigureAwait(false);
        }

        await blob.CommitBlockListAsync(_blockIds, new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
            Metadata = metadata,
        }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _buffer.Dispose();

    private async Task StageAsync(CancellationToken cancellationToken)
    {
        // Block ids must all have the same length within a blob.
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{_writer}-{_blockIds.Count:D8}")));
        _buffer.Position = 0;
        await blob.StageBlockAsync(id, _buffer, cancellationToken: cancellationToken).ConfigureAwait(false);
        _blockIds.Add(id);
        _buffer.SetLength(0);
    }
}
