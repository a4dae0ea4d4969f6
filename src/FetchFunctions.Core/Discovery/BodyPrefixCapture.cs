using System.Buffers;

namespace FetchFunctions.Core.Discovery;

/// <summary>Keeps the first <see cref="Cap"/> bytes of a body as it streams by, in a pooled buffer that grows with what
/// arrives (a small page rents a small buffer), so its links can be read once the body has ended without a second read
/// of the stored body. Dispose hands the buffer back; <see cref="Captured"/> is invalid after that.</summary>
internal sealed class BodyPrefixCapture(int cap) : IDisposable
{
    private const int FirstBufferBytes = 16 * 1024;

    private byte[]? _buffer;
    private int _length;
    private bool _disposed;

    public int Cap { get; } = cap > 0 ? cap : throw new ArgumentOutOfRangeException(nameof(cap), cap, "The cap must be positive.");

    /// <summary>The bytes kept so far.</summary>
    public ReadOnlyMemory<byte> Captured
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _length);
        }
    }

    /// <summary>True once more bytes went by than the cap kept.</summary>
    public bool Truncated { get; private set; }

    /// <summary>Forgets what was kept (the buffer stays rented): a body read again from its start, as the engine's
    /// body retry does, is kept afresh.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _length = 0;
        Truncated = false;
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var room = Cap - _length;
        if (bytes.Length > room)
        {
            Truncated = true;
            bytes = bytes[..room];
        }

        if (bytes.IsEmpty)
        {
            return;
        }

        var needed = _length + bytes.Length;
        if (_buffer is null || _buffer.Length < needed)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Min(Cap, Math.Max(needed, Math.Max(FirstBufferBytes, (_buffer?.Length ?? 0) * 2))));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _length).CopyTo(next);
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = next;
        }

        bytes.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}

/// <summary>A read-only pass-through that shows every byte read through it to a <see cref="BodyPrefixCapture"/>. It goes
/// under the engine's <c>BodyMeterStream</c> (around the response stream), so whatever sink reads the body, the capture
/// sees exactly the bytes the sink stored. Disposing it disposes the inner stream, not the capture.</summary>
internal sealed class CaptureReadStream(Stream inner, BodyPrefixCapture capture) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        capture.Append(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        capture.Append(buffer.Span[..read]);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
