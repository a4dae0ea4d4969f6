using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Warc;

/// <summary>What a batch's WARC files are named after and what their <c>warcinfo</c> records say.</summary>
internal sealed record WarcBatch(string JobId, DateTimeOffset AcceptedAt, int BatchIndex, IReadOnlyList<KeyValuePair<string, string>> Info);

/// <summary>Sizes of a batch's WARC writing. <paramref name="FileBytes"/>: a file rolls over to the next serial when a
/// record would take it past this (Crawl:WarcFileBytes). <paramref name="BlockBytes"/>: records are coalesced into staged
/// blocks of this size, and a streamed body is staged in blocks of it. <paramref name="MaxBlocksInFlight"/>: stagings of
/// the whole batch at once. <paramref name="MemoryRecordBytes"/>: a body up to this size is built in memory; a longer
/// one is streamed (or, when its length is not announced, spooled to a temporary file first).</summary>
internal sealed record WarcWriterLimits(long FileBytes, int BlockBytes = 4 * 1024 * 1024, int MaxBlocksInFlight = 4, int MemoryRecordBytes = 1024 * 1024);

/// <summary>The record sink of one batch in the WARC store: appends each exchange as a <c>request</c> and a
/// <c>response</c> record (each its own gzip member) to the batch's current WARC file as fetches finish, coalescing
/// small records into staged blocks and streaming large bodies in blocks of their own; nothing is visible until
/// <see cref="CommitAsync"/> commits the files (Put Block List) and then the batch's sorted index part. Block ids carry
/// a per-writer prefix: a stale attempt of the same batch cannot mix its blocks into this one's files.</summary>
internal sealed class WarcBatchWriter : IRecordSink, IAsyncDisposable
{
    public const string ContentType = "application/warc";

    private readonly BlobContainerClient _container;
    private readonly WarcBatch _batch;
    private readonly WarcWriterLimits _limits;
    private readonly string _attempt = Guid.NewGuid().ToString("N");
    private readonly Lock _lock = new();
    private readonly List<WarcFile> _files = [];
    private readonly List<string> _index = [];
    private readonly List<Task> _stagings = [];
    private readonly SemaphoreSlim _inFlight;
    private long _blockSequence;
    private int _blocksHeld;
    private int _peakBlocksHeld;

    public WarcBatchWriter(BlobContainerClient container, WarcBatch batch, WarcWriterLimits limits)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(limits);
        _container = container;
        _batch = batch;
        _limits = limits;
        _inFlight = new SemaphoreSlim(limits.MaxBlocksInFlight, limits.MaxBlocksInFlight);
    }

    public bool RecordsExchanges => true;

    /// <summary>The most block buffers this writer held at once (filling, waiting or staging): what bounds its memory.</summary>
    public int PeakBlocksHeld => Volatile.Read(ref _peakBlocksHeld);

    /// <summary>Names of the files written so far (in order).</summary>
    public IReadOnlyList<string> FileNames
    {
        get
        {
            lock (_lock)
            {
                return _files.Select(file => file.Name).ToArray();
            }
        }
    }

    /// <summary>Nothing of this batch is visible before the commit, and the commit replaces the batch's files whole.</summary>
    public Task DeleteAsync(string blobName, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task RecordHopAsync(RecordWrite hop, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hop);
        // A redirect's body is not read: its record holds the response head and an empty payload.
        await AppendInMemoryAsync(hop, ReadOnlyMemory<byte>.Empty, truncated: false, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BodyLocation?> StoreAsync(RecordWrite write, BodyMeterStream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(body);
        var first = ArrayPool<byte>.Shared.Rent(_limits.MemoryRecordBytes + 1);
        try
        {
            var length = await body.ReadAtLeastAsync(first.AsMemory(0, _limits.MemoryRecordBytes + 1), _limits.MemoryRecordBytes + 1,
                throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (length <= _limits.MemoryRecordBytes)
            {
                return await AppendInMemoryAsync(write, first.AsMemory(0, length), body.Truncated, cancellationToken).ConfigureAwait(false);
            }

            if (AnnouncedLength(write.Response) is { } announced)
            {
                var expected = Math.Min(announced, body.MaxBytes);
                return await StreamAsync(write, first.AsMemory(0, length), body, expected, truncated: announced > body.MaxBytes, cancellationToken)
                    .ConfigureAwait(false);
            }

            // The HTTP head's true Content-Length must precede the payload: spool a body of unannounced length first.
            var spool = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920,
                FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            await using (spool.ConfigureAwait(false))
            {
                await spool.WriteAsync(first.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                await body.CopyToAsync(spool, cancellationToken).ConfigureAwait(false);
                spool.Position = 0;
                return await StreamAsync(write, ReadOnlyMemory<byte>.Empty, spool, spool.Length, body.Truncated, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    /// <summary>Commits the batch: the staged blocks of each WARC file (Put Block List, in record order), the removal of
    /// higher serials an earlier attempt left, then the batch's sorted index part. The caller writes the results last.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        WarcFile[] files;
        string[] index;
        lock (_lock)
        {
            foreach (var file in _files)
            {
                CutPendingLocked(file);
            }

            files = [.. _files];
            index = [.. _index];
        }

        Task[] stagings;
        lock (_stagings)
        {
            stagings = [.. _stagings];
        }

        await Task.WhenAll(stagings).ConfigureAwait(false);
        foreach (var file in files)
        {
            await file.Blob.CommitBlockListAsync(file.BlockIds, new CommitBlockListOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = ContentType },
            }, cancellationToken).ConfigureAwait(false);
        }

        // A re-run that wrote fewer files than an earlier attempt: the earlier attempt's higher serials go.
        for (var serial = files.Length; ; serial++)
        {
            var stale = _container.GetBlobClient(BlobNames.WarcFolder(_batch.JobId) + BlobNames.WarcFile(_batch.AcceptedAt, _batch.BatchIndex, serial));
            if (!await stale.DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                break;
            }
        }

        Array.Sort(index, StringComparer.Ordinal);
        var text = new StringBuilder(index.Sum(line => line.Length + 1));
        foreach (var line in index)
        {
            text.Append(line).Append('\n');
        }

        await _container.GetBlobClient(BlobNames.IndexPart(_batch.JobId, _batch.BatchIndex)).UploadAsync(BinaryData.FromString(text.ToString()),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "text/plain; charset=utf-8" } }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] stagings;
        lock (_stagings)
        {
            stagings = [.. _stagings];
        }

        // Stagings return their own buffers; wait for them so none outlives the writer.
        await Task.WhenAll(stagings).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
            .ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var file in _files)
            {
                if (file.Pending is { } pending)
                {
                    file.Pending = null;
                    ReturnBlock(pending);
                }
            }
        }

        _inFlight.Dispose();
    }

    private async Task<BodyLocation> AppendInMemoryAsync(RecordWrite write, ReadOnlyMemory<byte> payload, bool truncated, CancellationToken cancellationToken)
    {
        var response = write.Response ?? throw new ArgumentException("A WARC record needs the response head.", nameof(write));
        var head = WarcRecordFormat.ResponseHead(response, payload.Length);
        using var blockHash = WarcDigest.CreateHash();
        blockHash.AppendData(head);
        blockHash.AppendData(payload.Span);
        var payloadDigest = WarcDigest.Of(payload.Span);
        var (requestId, requestMember) = RequestMember(write);
        var header = WarcRecordFormat.Header(ResponseHeader(write, requestId, head.Length + payload.Length,
            WarcDigest.Format(blockHash.GetHashAndReset()), payloadDigest, truncated));
        using var member = new MemoryStream(header.Length + head.Length + (payload.Length / 2) + 64);
        GzipMember.WriteWhole(member, header, head, payload.Span, WarcRecordFormat.RecordEnd);

        List<Cut> cuts = [];
        WarcFile file;
        long offset;
        lock (_lock)
        {
            file = CurrentFileLocked(requestMember.Length + member.Length, cuts);
            AppendLocked(file, requestMember, cuts);
            offset = file.Length;
            AppendLocked(file, member.GetBuffer().AsSpan(0, (int)member.Length), cuts);
            _index.Add(CdxjLine.Format(write.TargetUri.AbsoluteUri, write.FetchedAt, write.ContentType, response.Status, payloadDigest, member.Length, offset, file.Name));
        }

        await StageCutsAsync(cuts, cancellationToken).ConfigureAwait(false);
        return new BodyLocation(null, file.Name, offset, member.Length);
    }

    private async Task<BodyLocation> StreamAsync(RecordWrite write, ReadOnlyMemory<byte> prefix, Stream source, long expected, bool truncated,
        CancellationToken cancellationToken)
    {
        var response = write.Response ?? throw new ArgumentException("A WARC record needs the response head.", nameof(write));
        var head = WarcRecordFormat.ResponseHead(response, expected);
        WarcFile file;
        lock (_lock)
        {
            file = CurrentFileLocked(expected, cuts: null);
        }

        using var blockHash = WarcDigest.CreateHash();
        using var payloadHash = WarcDigest.CreateHash();
        blockHash.AppendData(head);
        var blocks = new RecordBlocks(this, file.Blob);
        try
        {
            long payloadLength = 0;
            using (var segment = new DeflateSegment(blocks))
            {
                await segment.WriteAsync(head, cancellationToken).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(128 * 1024);
                try
                {
                    var chunk = prefix;
                    while (true)
                    {
                        if (chunk.Length == 0)
                        {
                            var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, Math.Max(1, expected - payloadLength + 1))), cancellationToken)
                                .ConfigureAwait(false);
                            if (read == 0)
                            {
                                break;
                            }

                            chunk = buffer.AsMemory(0, read);
                        }

                        if (payloadLength + chunk.Length > expected)
                        {
                            throw new IOException($"The body is longer than the {expected} bytes its Content-Length announced.");
                        }

                        blockHash.AppendData(chunk.Span);
                        payloadHash.AppendData(chunk.Span);
                        await segment.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                        payloadLength += chunk.Length;
                        chunk = ReadOnlyMemory<byte>.Empty;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                if (payloadLength != expected)
                {
                    throw new IOException($"The body ended after {payloadLength} of the {expected} bytes its Content-Length announced.");
                }

                await segment.WriteAsync(WarcRecordFormat.RecordEnd, cancellationToken).ConfigureAwait(false);
                await segment.FinishAsync(cancellationToken).ConfigureAwait(false);

                var payloadDigest = WarcDigest.Format(payloadHash.GetHashAndReset());
                var (requestId, requestMember) = RequestMember(write);
                var header = WarcRecordFormat.Header(ResponseHeader(write, requestId, head.Length + expected,
                    WarcDigest.Format(blockHash.GetHashAndReset()), payloadDigest, truncated));

                // The header's own segment, behind the member header: staged last, listed first.
                using var headerMember = new MemoryStream(header.Length + 64);
                headerMember.Write(GzipMember.Header);
                uint headerCrc;
                using (var headerSegment = new DeflateSegment(headerMember))
                {
                    headerSegment.Write(header);
                    headerSegment.Finish();
                    headerCrc = headerSegment.Crc;
                }

                var trailer = new byte[GzipMember.TrailerLength];
                GzipMember.WriteTrailer(trailer, Crc32Combine.Combine(headerCrc, segment.Crc, segment.Length), header.Length + segment.Length);
                await blocks.FinishAsync(trailer, cancellationToken).ConfigureAwait(false);
                var headerId = NextBlockId();
                await StageOneAsync(file.Blob, headerId, headerMember.GetBuffer(), (int)headerMember.Length, pooled: false, cancellationToken).ConfigureAwait(false);

                var length = headerMember.Length + blocks.Written;
                List<Cut> cuts = [];
                long offset;
                lock (_lock)
                {
                    AppendLocked(file, requestMember, cuts);
                    CutPendingLocked(file, cuts);
                    offset = file.Length;
                    file.BlockIds.Add(headerId);
                    file.BlockIds.AddRange(blocks.Ids);
                    file.Length += length;
                    _index.Add(CdxjLine.Format(write.TargetUri.AbsoluteUri, write.FetchedAt, write.ContentType, response.Status, payloadDigest, length, offset, file.Name));
                }

                await StageCutsAsync(cuts, cancellationToken).ConfigureAwait(false);
                return new BodyLocation(null, file.Name, offset, length);
            }
        }
        finally
        {
            await blocks.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static (string Id, byte[] Member) RequestMember(RecordWrite write)
    {
        var id = WarcRecordFormat.NewRecordId();
        var request = write.Request ?? new RecordedRequest("GET", write.TargetUri, HttpVersion.Version11, []);
        var head = WarcRecordFormat.RequestHead(request);
        var header = WarcRecordFormat.Header(new WarcHeader("request", id, write.FetchedAt, WarcRecordFormat.RequestContentType, head.Length,
            write.TargetUri.AbsoluteUri, write.RemoteAddress, BlockDigest: WarcDigest.Of(head)));
        using var member = new MemoryStream(header.Length + head.Length);
        GzipMember.WriteWhole(member, header, head, WarcRecordFormat.RecordEnd, []);
        return (id, member.ToArray());
    }

    private static WarcHeader ResponseHeader(RecordWrite write, string requestId, long blockLength, string blockDigest, string payloadDigest, bool truncated) =>
        new("response", WarcRecordFormat.NewRecordId(), write.FetchedAt, WarcRecordFormat.ResponseContentType, blockLength,
            write.TargetUri.AbsoluteUri, write.RemoteAddress, requestId, blockDigest, payloadDigest, truncated ? "length" : null);

    /// <summary>The payload length the response announced, when the stored payload will be exactly that (no content or
    /// transfer coding was undone); null otherwise.</summary>
    private static long? AnnouncedLength(RecordedResponse? response)
    {
        if (response is null || response.DecodedEncoding is not null)
        {
            return null;
        }

        long? length = null;
        foreach (var (name, value) in response.Headers)
        {
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                length = parsed;
            }
        }

        return length;
    }

    /// <summary>The file a record of about <paramref name="incoming"/> bytes goes to: the current one, or the next serial
    /// when it would pass the file size and already holds a record. A new file starts with its warcinfo record.</summary>
    private WarcFile CurrentFileLocked(long incoming, List<Cut>? cuts)
    {
        if (_files.Count > 0)
        {
            var current = _files[^1];
            if (!current.HasRecords || current.Length + incoming <= _limits.FileBytes)
            {
                current.HasRecords = true;
                return current;
            }

            if (cuts is not null)
            {
                CutPendingLocked(current, cuts);
            }
        }

        var name = BlobNames.WarcFile(_batch.AcceptedAt, _batch.BatchIndex, _files.Count);
        var file = new WarcFile(name, _container.GetBlockBlobClient(BlobNames.WarcFolder(_batch.JobId) + name));
        _files.Add(file);
        var fields = WarcRecordFormat.WarcinfoFields(_batch.Info);
        // Dated at the job's acceptance, which the file name carries too.
        var header = WarcRecordFormat.Header(new WarcHeader("warcinfo", WarcRecordFormat.NewRecordId(), _batch.AcceptedAt,
            "application/warc-fields", fields.Length, BlockDigest: WarcDigest.Of(fields), Filename: name));
        using var member = new MemoryStream(header.Length + fields.Length);
        GzipMember.WriteWhole(member, header, fields, WarcRecordFormat.RecordEnd, []);
        AppendLocked(file, member.GetBuffer().AsSpan(0, (int)member.Length), cuts);
        file.HasRecords = true;
        return file;
    }

    private void AppendLocked(WarcFile file, ReadOnlySpan<byte> bytes, List<Cut>? cuts)
    {
        file.Length += bytes.Length;
        while (bytes.Length > 0)
        {
            file.Pending ??= RentBlock();
            var room = _limits.BlockBytes - file.PendingLength;
            var take = Math.Min(room, bytes.Length);
            bytes[..take].CopyTo(file.Pending.AsSpan(file.PendingLength));
            file.PendingLength += take;
            bytes = bytes[take..];
            if (file.PendingLength == _limits.BlockBytes)
            {
                CutPendingLocked(file, cuts);
            }
        }
    }

    /// <summary>Turns the file's pending bytes into a block listed now, staged by whoever holds <paramref name="cuts"/>
    /// (or at once, for the commit).</summary>
    private void CutPendingLocked(WarcFile file, List<Cut>? cuts = null)
    {
        if (file.Pending is not { } pending)
        {
            return;
        }

        var id = NextBlockId();
        file.BlockIds.Add(id);
        var cut = new Cut(file.Blob, id, pending, file.PendingLength);
        file.Pending = null;
        file.PendingLength = 0;
        if (cuts is not null)
        {
            cuts.Add(cut);
        }
        else
        {
            StartStaging(cut);
        }
    }

    private async Task StageCutsAsync(List<Cut> cuts, CancellationToken cancellationToken)
    {
        foreach (var cut in cuts)
        {
            // Listed already, so staged whatever happens to this fetch; the fetch waits for it (back-pressure) while it may.
            await StartStaging(cut).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private Task StartStaging(Cut cut)
    {
        var task = StageOneAsync(cut.Blob, cut.Id, cut.Buffer, cut.Length, pooled: true, CancellationToken.None);
        lock (_stagings)
        {
            _stagings.Add(task);
        }

        return task;
    }

    private async Task StageOneAsync(BlockBlobClient blob, string id, byte[] buffer, int length, bool pooled, CancellationToken cancellationToken)
    {
        try
        {
            await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                using var content = new MemoryStream(buffer, 0, length, writable: false);
                await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _inFlight.Release();
            }
        }
        finally
        {
            if (pooled)
            {
                ReturnBlock(buffer);
            }
        }
    }

    private string NextBlockId() =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{_attempt}-{Interlocked.Increment(ref _blockSequence):D10}")));

    private byte[] RentBlock()
    {
        var held = Interlocked.Increment(ref _blocksHeld);
        int peak;
        while (held > (peak = Volatile.Read(ref _peakBlocksHeld)) && Interlocked.CompareExchange(ref _peakBlocksHeld, held, peak) != peak)
        {
        }

        return ArrayPool<byte>.Shared.Rent(_limits.BlockBytes);
    }

    private void ReturnBlock(byte[] buffer)
    {
        ArrayPool<byte>.Shared.Return(buffer);
        Interlocked.Decrement(ref _blocksHeld);
    }

    private sealed record Cut(BlockBlobClient Blob, string Id, byte[] Buffer, int Length);

    private sealed class WarcFile(string name, BlockBlobClient blob)
    {
        public string Name { get; } = name;
        public BlockBlobClient Blob { get; } = blob;
        public List<string> BlockIds { get; } = [];
        public long Length { get; set; }
        public bool HasRecords { get; set; }
        public byte[]? Pending { get; set; }
        public int PendingLength { get; set; }
    }

    /// <summary>The compressed body of one streamed record, staged block by block as it fills; at most
    /// <see cref="WarcWriterLimits.MaxBlocksInFlight"/> stagings of the batch at once, plus the block filling.</summary>
    private sealed class RecordBlocks(WarcBatchWriter writer, BlockBlobClient blob) : Stream
    {
        private readonly List<Task> _stagings = [];
        private byte[]? _buffer;
        private int _length;

        public List<string> Ids { get; } = [];

        public long Written { get; private set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (buffer.Length > 0)
            {
                _buffer ??= writer.RentBlock();
                var take = Math.Min(writer._limits.BlockBytes - _length, buffer.Length);
                buffer.Span[..take].CopyTo(_buffer.AsSpan(_length));
                _length += take;
                Written += take;
                buffer = buffer[take..];
                if (_length == writer._limits.BlockBytes)
                {
                    await CutAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public async Task FinishAsync(ReadOnlyMemory<byte> tail, CancellationToken cancellationToken)
        {
            await WriteAsync(tail, cancellationToken).ConfigureAwait(false);
            await CutAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(_stagings).ConfigureAwait(false);
        }

        private async Task CutAsync(CancellationToken cancellationToken)
        {
            if (_buffer is null)
            {
                return;
            }

            // At most MaxBlocksInFlight stagings of this record: its memory stays at those plus the block filling.
            var buffer = _buffer;
            var length = _length;
            _buffer = null;
            _length = 0;
            var id = writer.NextBlockId();
            Ids.Add(id);
            if (_stagings.Count >= writer._limits.MaxBlocksInFlight)
            {
                var done = await Task.WhenAny(_stagings).ConfigureAwait(false);
                _stagings.Remove(done);
                await done.ConfigureAwait(false);
            }

            _stagings.Add(writer.StageOneAsync(blob, id, buffer, length, pooled: true, cancellationToken));
        }

        public override async ValueTask DisposeAsync()
        {
            if (_buffer is { } buffer)
            {
                _buffer = null;
                writer.ReturnBlock(buffer);
            }

            await Task.WhenAll(_stagings).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                .ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
