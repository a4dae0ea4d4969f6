using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace FetchFunctions.Core.Warc;

/// <summary>Reads header lines from a stream through a small buffer that grows only up to a budget, then hands out the
/// rest of the stream (what is buffered first). A line or head over the budget is an <see cref="InvalidDataException"/>.</summary>
internal sealed class HeadReader(Stream inner, int budget = WarcRecordReader.MaxHeadBytes)
{
    private byte[] _buffer = new byte[Math.Min(8 * 1024, budget + 2)];
    private int _start;
    private int _end;
    private int _budget = budget;
    private bool _ended;

    /// <summary>The bytes of the lines read so far.</summary>
    public long Consumed { get; private set; }

    /// <summary>Sets how many more bytes of lines may be read (a chunk-size line gets less than a head).</summary>
    public void ResetBudget(int bytes) => _budget = bytes;

    /// <summary>The next line without its CRLF or LF; null at the end of the stream before any byte of a line.</summary>
    public async ValueTask<string?> ReadLineAsync(Encoding encoding, CancellationToken cancellationToken)
    {
        var searched = 0;
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start + searched, _end - _start - searched);
            if (newline >= 0)
            {
                var lineBytes = newline - _start + 1;
                Spend(lineBytes);
                Consumed += lineBytes;
                var end = newline > _start && _buffer[newline - 1] == '\r' ? newline - 1 : newline;
                var line = encoding.GetString(_buffer, _start, end - _start);
                _start = newline + 1;
                return line;
            }

            searched = _end - _start;
            if (searched > _budget)
            {
                Spend(searched);
            }

            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return _end == _start ? null : throw new InvalidDataException("The record ends inside a header line.");
            }
        }
    }

    /// <summary>Header fields up to the empty line that ends them (folded lines joined to the field before).</summary>
    public async ValueTask<List<KeyValuePair<string, string>>> ReadFieldsAsync(Encoding encoding, CancellationToken cancellationToken)
    {
        var fields = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var line = await ReadLineAsync(encoding, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException("The record ends inside its headers.");
            if (line.Length == 0)
            {
                return fields;
            }

            if (line[0] is ' ' or '\t' && fields.Count > 0)
            {
                fields[^1] = new(fields[^1].Key, fields[^1].Value + " " + line.Trim());
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"The header line '{WarcRecordReader.Shorten(line)}' has no name.");
            }

            fields.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
    }

    /// <summary>Reads buffered bytes first, then the stream.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_end > _start)
        {
            var count = Math.Min(destination.Length, _end - _start);
            _buffer.AsMemory(_start, count).CopyTo(destination);
            _start += count;
            return count;
        }

        return _ended ? 0 : await inner.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The first <paramref name="count"/> bytes still unread, without consuming them (fewer at the end).</summary>
    public async ValueTask<ReadOnlyMemory<byte>> PeekAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count && await FillAsync(cancellationToken).ConfigureAwait(false))
        {
        }

        return _buffer.AsMemory(_start, Math.Min(count, _end - _start));
    }

    /// <summary>The rest of the stream as a stream: exactly <paramref name="limit"/> bytes (fewer is corrupt), or all.</summary>
    public Stream Remainder(long? limit) => new RemainderStream(this, inner, limit);

    private void Spend(int bytes)
    {
        _budget -= bytes;
        if (_budget < 0)
        {
            throw new InvalidDataException("A header is longer than a record's head may be.");
        }
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return false;
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            // Grows only while a line is within the budget (Spend throws before this goes beyond it).
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var read = await inner.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += read;
        _ended = read == 0;
        return read > 0;
    }

    private sealed class RemainderStream(HeadReader head, Stream inner, long? limit) : ReadOnlyStream
    {
        private long _left = limit ?? long.MaxValue;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left == 0 || buffer.IsEmpty)
            {
                return 0;
            }

            var read = await head.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            if (read == 0 && limit is not null)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"The record block ends {_left} bytes before its Content-Length."));
            }

            _left -= read;
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>A forward-only readable stream implemented by its async read; the sync read waits on it.</summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Undoes <c>Transfer-Encoding: chunked</c> (RFC 9112 §7.1): chunk-size lines of at most 4 KiB, trailers
/// within a head's budget, then the end.</summary>
internal sealed class ChunkedDecodingStream(Stream inner) : ReadOnlyStream
{
    private const int MaxChunkLineBytes = 4 * 1024;
    private readonly HeadReader _reader = new(inner);
    private long _chunkLeft;
    private bool _done;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_done || buffer.IsEmpty)
        {
            return 0;
        }

        if (_chunkLeft == 0)
        {
            _reader.ResetBudget(MaxChunkLineBytes);
            var line = await _reader.ReadLineAsync(Encoding.ASCII, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException("The chunked payload ends before its last chunk.");
            var size = line.Split(';', 2)[0].Trim();
            if (!long.TryParse(size, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _chunkLeft) || _chunkLeft < 0)
            {
                throw new InvalidDataException($"The chunk size '{WarcRecordReader.Shorten(line)}' is not hexadecimal.");
            }

            if (_chunkLeft == 0)
            {
                _reader.ResetBudget(WarcRecordReader.MaxHeadBytes);
                _ = await _reader.ReadFieldsAsync(Encoding.Latin1, cancellationToken).ConfigureAwait(false);
                _done = true;
                return 0;
            }
        }

        var read = await _reader.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _chunkLeft)], cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new InvalidDataException("The chunked payload ends inside a chunk.");
        }

        _chunkLeft -= read;
        if (_chunkLeft == 0)
        {
            _reader.ResetBudget(2);
            var end = await _reader.ReadLineAsync(Encoding.ASCII, cancellationToken).ConfigureAwait(false);
            if (end is not { Length: 0 })
            {
                throw new InvalidDataException("A chunk does not end with CRLF.");
            }
        }

        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>HTTP's <c>deflate</c> is meant to be zlib (RFC 9110 §8.4.1.2), but some servers send raw deflate: the first
/// two bytes tell which.</summary>
internal sealed class DeflateAutoStream(Stream inner) : ReadOnlyStream
{
    private Stream? _decoder;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_decoder is null)
        {
            var reader = new HeadReader(inner);
            var first = await reader.PeekAsync(2, cancellationToken).ConfigureAwait(false);
            var zlib = first.Length == 2 && (first.Span[0] & 0x0F) == 8 && ((first.Span[0] << 8) | first.Span[1]) % 31 == 0;
            var rest = reader.Remainder(limit: null);
            _decoder = zlib ? new ZLibStream(rest, CompressionMode.Decompress) : new DeflateStream(rest, CompressionMode.Decompress);
        }

        return await _decoder.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            (_decoder ?? inner).Dispose();
        }

        base.Dispose(disposing);
    }
}
