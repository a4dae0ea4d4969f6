using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace FetchFunctions.Core.Warc;

/// <summary>The pieces of a gzip member (RFC 1952) built from raw deflate segments, so that a record's header can be
/// compressed after its body and still come first: deflate back-references are relative, and a segment ending in a sync
/// flush is byte-aligned and not final, so segments concatenate into one valid deflate stream. The member ends with an
/// empty final block and the CRC-32 and size of the whole uncompressed record.</summary>
internal static class GzipMember
{
    /// <summary>What every record is compressed at: a 2 KiB page costs microseconds, a 1 GiB body stays near wire speed.</summary>
    public const CompressionLevel Level = CompressionLevel.Fastest;

    /// <summary>The 10-byte member header: deflate, no flags, no time, unknown OS.</summary>
    public static ReadOnlySpan<byte> Header => [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff];

    public const int TrailerLength = 10;

    /// <summary>An empty final fixed-Huffman block (ends the deflate stream), then CRC-32 and ISIZE, little-endian.</summary>
    public static void WriteTrailer(Span<byte> destination, uint crc, long uncompressedLength)
    {
        destination[0] = 0x03;
        destination[1] = 0x00;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[2..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[6..], unchecked((uint)uncompressedLength));
    }

    /// <summary>A whole member of the given parts, written to <paramref name="output"/> (small records).</summary>
    public static void WriteWhole(Stream output, ReadOnlySpan<byte> part1, ReadOnlySpan<byte> part2, ReadOnlySpan<byte> part3, ReadOnlySpan<byte> part4)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Header);
        using var segment = new DeflateSegment(output);
        segment.Write(part1);
        segment.Write(part2);
        segment.Write(part3);
        segment.Write(part4);
        segment.Finish();
        Span<byte> trailer = stackalloc byte[TrailerLength];
        WriteTrailer(trailer, segment.Crc, segment.Length);
        output.Write(trailer);
    }
}

/// <summary>Raw deflate of one part of a record, ended by a sync flush (byte-aligned, not final), with the CRC-32 and
/// length of what went in. Nothing the compressor writes after <see cref="Finish"/> reaches the output.</summary>
internal sealed class DeflateSegment : IDisposable
{
    private readonly Gate _gate;
    private readonly DeflateStream _deflate;
    private readonly Crc32 _crc = new();

    public DeflateSegment(Stream output)
    {
        _gate = new Gate(output);
        _deflate = new DeflateStream(_gate, GzipMember.Level, leaveOpen: true);
    }

    public long Length { get; private set; }

    public uint Crc => _crc.GetCurrentHashAsUInt32();

    public void Write(ReadOnlySpan<byte> data)
    {
        _deflate.Write(data);
        _crc.Append(data);
        Length += data.Length;
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _deflate.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        _crc.Append(data.Span);
        Length += data.Length;
    }

    /// <summary>Sync-flushes (DeflateStream.Flush is zlib's Z_SYNC_FLUSH) and closes the gate.</summary>
    public void Finish()
    {
        _deflate.Flush();
        _gate.Closed = true;
    }

    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        await _deflate.FlushAsync(cancellationToken).ConfigureAwait(false);
        _gate.Closed = true;
    }

    public void Dispose()
    {
        // Disposing writes the final block, which the closed gate drops: the member's own trailer ends the stream.
        _gate.Closed = true;
        _deflate.Dispose();
    }

    private sealed class Gate(Stream inner) : Stream
    {
        public bool Closed { get; set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!Closed)
            {
                inner.Write(buffer);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            Closed ? ValueTask.CompletedTask : inner.WriteAsync(buffer, cancellationToken);

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
