using System.Buffers;
using System.Globalization;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using FetchFunctions.Core.Fetching;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Storage;

/// <summary>Streams bodies into block blobs with bounded memory: a body that fits the small-body buffer goes up in one
/// request; a larger one is staged block by block (at most <see cref="FetchOptions.UploadConcurrency"/> blocks in flight)
/// and committed with its metadata, SHA-256 included, once its last byte has been read.</summary>
internal sealed class BlobBodySink : IRecordSink
{
    private readonly BlobContainerClient _container;
    private readonly int _smallBodyBytes;
    private readonly int _blockBytes;
    private readonly int _concurrency;

    public BlobBodySink(BlobServiceClient service, IOptions<StorageOptions> storage, IOptions<FetchOptions> fetch)
    {
        ArgumentNullException.ThrowIfNull(service);
        _container = service.GetBlobContainerClient(storage.Value.ContainerName);
        _smallBodyBytes = fetch.Value.SmallBodyBufferBytes;
        _blockBytes = fetch.Value.UploadBlockBytes;
        _concurrency = fetch.Value.UploadConcurrency;
    }

    public bool RecordsExchanges => false;

    public Task RecordHopAsync(RecordWrite hop, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<BodyLocation?> StoreAsync(RecordWrite write, BodyMeterStream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(body);
        var blob = _container.GetBlockBlobClient(write.BlobName);
        // One byte more than a small body tells whether the body goes on.
        var first = ArrayPool<byte>.Shared.Rent(_smallBodyBytes + 1);
        try
        {
            var firstLength = await body.ReadAtLeastAsync(first.AsMemory(0, _smallBodyBytes + 1), _smallBodyBytes + 1, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (firstLength <= _smallBodyBytes && body.Completed)
            {
                using var content = new MemoryStream(first, 0, firstLength, writable: false);
                await blob.UploadAsync(content, new BlobUploadOptions
                {
                    HttpHeaders = Headers(write),
                    Metadata = Metadata(write, body),
                }, cancellationToken).ConfigureAwait(false);
                return BodyLocation.Blob(write.BlobName);
            }

            await StageAndCommitAsync(blob, write, body, first.AsMemory(0, firstLength), cancellationToken).ConfigureAwait(false);
            return BodyLocation.Blob(write.BlobName);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    public Task DeleteAsync(string blobName, CancellationToken cancellationToken) =>
        _container.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    private async Task StageAndCommitAsync(BlockBlobClient blob, RecordWrite write, BodyMeterStream body, ReadOnlyMemory<byte> prefix, CancellationToken cancellationToken)
    {
        // A fresh prefix per attempt keeps a concurrent or earlier attempt's uncommitted blocks out of this commit.
        var attempt = Guid.NewGuid().ToString("N");
        var blockIds = new List<string>();
        var inFlight = new List<Task>(_concurrency);
        var pending = prefix;
        using var stageCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(_blockBytes);
                int length;
                try
                {
                    pending.CopyTo(buffer);
                    length = pending.Length;
                    pending = ReadOnlyMemory<byte>.Empty;
                    length += await body.ReadAtLeastAsync(buffer.AsMemory(length, _blockBytes - length), _blockBytes - length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw;
                }

                if (length == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes(
                    string.Create(CultureInfo.InvariantCulture, $"{attempt}-{blockIds.Count:D6}")));
                blockIds.Add(blockId);
                inFlight.Add(StageAsync(blob, blockId, buffer, length, stageCancellation.Token));
                if (inFlight.Count >= _concurrency)
                {
                    var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
                    inFlight.Remove(done);
                    await done.ConfigureAwait(false);
                }

                if (body.Completed)
                {
                    break;
                }
            }

            await Task.WhenAll(inFlight).ConfigureAwait(false);
        }
        catch
        {
            // Stop the other stagings and let them return their buffers before the failure surfaces.
            await stageCancellation.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(inFlight).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }

        await blob.CommitBlockListAsync(blockIds, new CommitBlockListOptions
        {
            HttpHeaders = Headers(write),
            Metadata = Metadata(write, body),
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task StageAsync(BlockBlobClient blob, string blockId, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new MemoryStream(buffer, 0, length, writable: false);
            await blob.StageBlockAsync(blockId, content, new BlockBlobStageBlockOptions(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static BlobHttpHeaders Headers(RecordWrite write) => new()
    {
        ContentType = write.ContentType,
        ContentEncoding = write.ContentEncoding,
    };

    private static Dictionary<string, string> Metadata(RecordWrite write, BodyMeterStream body) => new(6, StringComparer.OrdinalIgnoreCase)
    {
        ["sourceurl"] = write.SourceUrl,
        ["finalurl"] = write.FinalUrl,
        ["status"] = write.Status.ToString(CultureInfo.InvariantCulture),
        ["fetchedat"] = write.FetchedAt.ToString("O", CultureInfo.InvariantCulture),
        ["sha256"] = body.GetSha256(),
        ["bytes"] = body.BytesRead.ToString(CultureInfo.InvariantCulture),
    };
}
