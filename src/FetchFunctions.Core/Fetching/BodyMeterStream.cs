using System.Security.Cryptography;

namespace FetchFunctions.Core.Fetching;

/// <summary>A read-only pass-through over a response body that counts and hashes every byte, stops at the byte cap,
/// enforces an idle timeout per read, and marks transport failures as <see cref="BodyReadException"/> so they can be told
/// apart from storage failures. It never buffers.</summary>
internal sealed class BodyMeterStream : Stream
{
    private readonly Stream _inner;
    private readonly long _maxBytes;
    private readonly TimeSpan _idleTimeout;
    private readonly IncrementalHash _hash;
    private readonly Sha256Pool? _hashes;
    private readonly CancellationTokenSource _idle;
    private CancellationTokenSource? _linked;
    private CancellationToken _linkedTo;
    private string? _sha256;
    private bool _completed;
    private bool _disposed;
    private readonly bool _truncateAtCap;

    // hashes: where the hasher comes from and goes back to on dispose; null: a hasher of its own.
    // truncateAtCap: at the byte cap the body ends (Truncated) instead of failing, for a sink that keeps truncated records.
    public BodyMeterStream(Stream inner, long maxBytes, TimeSpan idleTimeout, TimeProvider timeProvider, Sha256Pool? hashes = null, bool truncateAtCap = false)
    {
        _truncateAtCap = truncateAtCap;
        _hashes = hashes;
        _hash = hashes?.Rent() ?? IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _inner = inner;
        _maxBytes = maxBytes;
        _idleTimeout = idleTimeout;
        _idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
    }

    public long BytesRead { get; private set; }

    /// <summary>The byte cap.</summary>
    public long MaxBytes => _maxBytes;

    /// <summary>True once the body was read to its end.</summary>
    public bool Completed => _completed;

    /// <summary>True when the body was cut at the byte cap (only with truncate-at-cap): reads then return nothing more,
    /// <see cref="BytesRead"/> is the cap, and <see cref="Completed"/> stays false.</summary>
    public bool Truncated { get; private set; }

    /// <summary>Lowercase hex SHA-256 of the whole body; only valid once <see cref="Completed"/>.</summary>
    public string GetSha256()
    {
        if (!_completed)
        {
            throw new InvalidOperationException("The body has not been read to its end.");
        }

        // Finalised once: the sink (for metadata) and the engine (for the result) both ask.
        return _sha256 ??= Convert.ToHexStringLower(_hash.GetHashAndReset());
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_completed || Truncated || buffer.Length == 0)
        {
            return 0;
        }

        // Read at most one byte past the cap, so a body of exactly the cap is accepted.
        var room = _maxBytes - BytesRead + 1;
        if (buffer.Length > room)
        {
            buffer = buffer[..(int)room];
        }

        int read;
        var token = ReadToken(cancellationToken);
        _idle.CancelAfter(_idleTimeout);
        try
        {
            read = await _inner.ReadAsync(buffer, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new BodyIdleTimeoutException(_idleTimeout);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw new BodyReadException($"The body broke off after {BytesRead} bytes: {ex.Message}", ex);
        }
        finally
        {
            // Disarmed between reads: time the sink spends storing is not the server's silence.
            _idle.CancelAfter(Timeout.InfiniteTimeSpan);
        }

        if (read == 0)
        {
            _completed = true;
            return 0;
        }

        BytesRead += read;
        if (BytesRead > _maxBytes)
        {
            if (!_truncateAtCap)
            {
                throw new BodyTooLargeException(_maxBytes);
            }

            // Hand over the bytes up to the cap and end here; the one byte past it only proved the body goes on.
            read -= (int)(BytesRead - _maxBytes);
            BytesRead = _maxBytes;
            Truncated = true;
        }

        _hash.AppendData(buffer.Span[..read]);
        return read;
    }

    /// <summary>The caller's token joined with the idle timeout. A sink reads a body with one token, so the linked
    /// source is made once per body, not once per read.</summary>
    private CancellationToken ReadToken(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return _idle.Token;
        }

        if (_linked is null || _linkedTo != cancellationToken)
        {
            _linked?.Dispose();
            _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _idle.Token);
            _linkedTo = cancellationToken;
        }

        return _linked.Token;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // Once only: a pooled hasher handed back twice would be shared by two bodies.
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (_hashes is null)
            {
                _hash.Dispose();
            }
            else
            {
                _hashes.Return(_hash, dirty: _sha256 is null);
            }

            _linked?.Dispose();
            _idle.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
