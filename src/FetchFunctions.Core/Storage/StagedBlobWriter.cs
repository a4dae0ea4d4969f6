using System.Buffers;
using System.Globalization;
using System.Text;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace FetchFunctions.Core.Storage;

/// <summary>Writes a blob in staged blocks of bytes, visible only on <see cref="CommitAsync"/>, where
/// <see cref="StagedTextWriter"/> writes lines of strings one awaited block at a time: the caller appends spans
/// synchronously, and when <see cref="Append"/> says the block is full it hands the block to <see cref="StageAsync"/>,
/// whose upload may run while it goes on appending (the caller bounds how many run at once).</summary>
internal sealed class StagedBlobWriter(BlockBlobClient blob, int blockBytes) : IDisposable
{
    private readonly List<string> _blockIds = [];

    // Block ids of this writer only (see StagedTextWriter).
    private readonly string _writer = Guid.NewGuid().ToString("N");
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(blockBytes);
    private int _length;

    /// <summary>Appends <paramref name="head"/>, <paramref name="body"/> and a line break; true when the block is full.</summary>
    public bool Append(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        var needed = _length + head.Length + body.Length + 1;
        if (needed > _buffer.Length)
        {
            // Only a line longer than the room left past blockBytes gets here.
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 2 * _buffer.Length));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        head.CopyTo(_buffer.AsSpan(_length));
        _length += head.Length;
        body.CopyTo(_buffer.AsSpan(_length));
        _length += body.Length;
        _buffer[_length++] = (byte)'\n';
        return _length >= blockBytes;
    }

    /// <summary>Uploads what was appended as the next block, while appending goes on into a new buffer. Every staging
    /// must have completed before <see cref="CommitAsync"/>.</summary>
    public Task StageAsync(CancellationToken cancellationToken)
    {
        if (_length == 0)
        {
            return Task.CompletedTask;
        }

        var (buffer, length) = (_buffer, _length);
        _buffer = ArrayPool<byte>.Shared.Rent(blockBytes);
        _length = 0;
        // Block ids must all have the same length within a blob.
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{_writer}-{_blockIds.Count:D8}")));
        _blockIds.Add(id);
        return UploadAsync(id, buffer, length, cancellationToken);
    }

    /// <summary>Stages the rest and commits the blocks in the order they were appended.</summary>
    public async Task CommitAsync(string contentType, CancellationToken cancellationToken)
    {
        await StageAsync(cancellationToken).ConfigureAwait(false);
        await blob.CommitBlockListAsync(_blockIds, new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
        }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private async Task UploadAsync(string id, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new MemoryStream(buffer, 0, length, writable: false);
            await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
