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
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Storage;

/// <summary>The blobs of crawl jobs in the crawl container: JSON documents, text line by line, URL lists.</summary>
internal sealed class JobStore
{
    public const string JsonContentType = "application/json";
    public const string NdjsonContentType = "application/x-ndjson";
    public const string TextContentType = "text/plain; charset=utf-8";

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
        Container.GetBlobClient(blobName).UploadAsync(content, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
        }, cancellationToken);

    /// <summary>The blob's lines (UTF-8), streamed.</summary>
    public async IAsyncEnumerable<string> ReadLinesAsync(string blobName, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = await Container.GetBlobClient(blobName).OpenReadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                yield return line;
            }
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

    /// <summary>Deletes what an earlier run of the same job id left beyond this run's batches, and its summary:
    /// a re-run replaces the job's results instead of mixing with them.</summary>
    public async Task DeleteStaleRunBlobsAsync(string jobId, int batchCount, CancellationToken cancellationToken)
    {
        var stale = new List<string>();
        foreach (var prefix in new[] { BlobNames.BatchManifestPrefix(jobId), BlobNames.BatchResultsPrefix(jobId) })
        {
            await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
            {
                if (BlobNames.BatchIndexOf(item.Name, prefix) is not { } index || index >= batchCount)
                {
                    stale.Add(item.Name);
                }
            }
        }

        await Parallel.ForEachAsync(stale, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (name, token) => await Container.DeleteBlobIfExistsAsync(name, cancellationToken: token).ConfigureAwait(false))
            .ConfigureAwait(false);
        await Container.DeleteBlobIfExistsAsync(BlobNames.Summary(jobId), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public StagedTextWriter CreateTextWriter(string blobName) => new(Container.GetBlockBlobClient(blobName));
}

/// <summary>Writes a text blob line by line in staged blocks and makes it visible only on <see cref="CommitAsync"/>:
/// a failure half-way leaves the previous version (or nothing), never half a list.</summary>
internal sealed class StagedTextWriter(BlockBlobClient blob, int blockBytes = 4 * 1024 * 1024) : IDisposable
{
    private readonly MemoryStream _buffer = new();
    private readonly List<string> _blockIds = [];

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

    public async Task CommitAsync(string contentType, CancellationToken cancellationToken)
    {
        if (_buffer.Length > 0)
        {
            await StageAsync(cancellationToken).ConfigureAwait(false);
        }

        await blob.CommitBlockListAsync(_blockIds, new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
        }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _buffer.Dispose();

    private async Task StageAsync(CancellationToken cancellationToken)
    {
        // Block ids must all have the same length within a blob.
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(_blockIds.Count.ToString("D8", CultureInfo.InvariantCulture)));
        _buffer.Position = 0;
        await blob.StageBlockAsync(id, _buffer, cancellationToken: cancellationToken).ConfigureAwait(false);
        _blockIds.Add(id);
        _buffer.SetLength(0);
    }
}
