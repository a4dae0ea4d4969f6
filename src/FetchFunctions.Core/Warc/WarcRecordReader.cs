using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace FetchFunctions.Core.Warc;

/// <summary>Reads one WARC record from one gzip member (a range read of <c>offset</c>, <c>length</c> in a <c>.warc.gz</c>):
/// the WARC head, then for an <c>application/http</c> response the HTTP status line and headers, and the payload as a
/// stream that is never buffered whole. Heads are bounded (<see cref="MaxHeadBytes"/>): a corrupt file is an
/// <see cref="InvalidDataException"/>, not a hang or a huge allocation.</summary>
internal static class WarcRecordReader
{
    /// <summary>The most bytes a WARC head, or the HTTP head inside a record, may take (header lines included).</summary>
    public const int MaxHeadBytes = 64 * 1024;

    /// <summary>The record at the start of <paramref name="member"/>, which the record then owns.</summary>
    public static async Task<WarcRecord> ReadAsync(Stream member, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(member);
        var inflated = new GZipStream(member, CompressionMode.Decompress, leaveOpen: false);
        try
        {
            var head = new HeadReader(inflated);
            var version = await head.ReadLineAsync(Encoding.UTF8, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException("The WARC record is empty.");
            if (!version.StartsWith("WARC/", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"Not a WARC record: the first line starts '{Shorten(version)}'.");
            }

            var fields = await head.ReadFieldsAsync(Encoding.UTF8, cancellationToken).ConfigureAwait(false);
            var lengthText = Find(fields, "Content-Length") ?? throw new InvalidDataException("The WARC record has no Content-Length.");
            if (!long.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                throw new InvalidDataException($"The WARC record's Content-Length '{Shorten(lengthText)}' is not a number.");
            }

            var block = head.Remainder(length);
            return new WarcRecord(version, fields, length, block);
        }
        catch
        {
            await inflated.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal static string? Find(IReadOnlyList<KeyValuePair<string, string>> fields, string name)
    {
        foreach (var (key, value) in fields)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}

/// <summary>One WARC record: its head, and its block read once, either whole (<see cref="OpenBlock"/>) or as an HTTP
/// response (<see cref="ReadHttpAsync"/>).</summary>
internal sealed class WarcRecord : IAsyncDisposable
{
    private Stream? _block;

    internal WarcRecord(string version, IReadOnlyList<KeyValuePair<string, string>> fields, long contentLength, Stream block)
    {
        Version = version;
        Fields = fields;
        ContentLength = contentLength;
        _block = block;
    }

    public string Version { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    public long ContentLength { get; }

    public string? Type => Field("WARC-Type");

    public string? TargetUri => Field("WARC-Target-URI");

    public string? Field(string name) => WarcRecordReader.Find(Fields, name);

    /// <summary>The record block as stored (for a response: the HTTP head and the payload).</summary>
    public Stream OpenBlock() => Interlocked.Exchange(ref _block, null) ?? throw new InvalidOperationException("The record's block was already read.");

    /// <summary>The HTTP response in the block: status, headers, and the payload, de-chunked when the stored headers say
    /// <c>Transfer-Encoding: chunked</c>.</summary>
    public async Task<HttpResponseRecord> ReadHttpAsync(CancellationToken cancellationToken)
    {
        var contentType = Field("Content-Type");
        if (!string.Equals(Type, "response", StringComparison.OrdinalIgnoreCase)
            || contentType is null || !contentType.StartsWith("application/http", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"The record is a '{Type}' record of '{contentType}', not an HTTP response.");
        }

        var head = new HeadReader(OpenBlock());
        var statusLine = await head.ReadLineAsync(Encoding.Latin1, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("The response record's block is empty.");
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status is < 100 or > 999)
        {
            throw new InvalidDataException($"The response record's status line '{WarcRecordReader.Shorten(statusLine)}' is not HTTP.");
        }

        var headers = await head.ReadFieldsAsync(Encoding.Latin1, cancellationToken).ConfigureAwait(false);
        Stream payload = head.Remainder(limit: null);
        long? payloadLength = ContentLength - head.Consumed;
        var transfer = WarcRecordReader.Find(headers, "Transfer-Encoding");
        if (transfer is not null && transfer.Split(',').Any(t => t.Trim().Equals("chunked", StringComparison.OrdinalIgnoreCase)))
        {
            payload = new ChunkedDecodingStream(payload);
            payloadLength = null;
        }

        return new HttpResponseRecord(status, parts.Length > 2 ? parts[2] : string.Empty, headers, payload, payloadLength);
    }

    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _block, null)?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>The HTTP response stored in a response record. <see cref="Payload"/> is the body as the server sent it, of
/// transfer coding undone; <see cref="OpenPayload"/> also undoes the content codings it knows.</summary>
internal sealed class HttpResponseRecord(int status, string reason, IReadOnlyList<KeyValuePair<string, string>> headers, Stream payload, long? payloadLength) : IAsyncDisposable
{
    /// <summary>The payload's length as stored; null when it is chunked.</summary>
    public long? PayloadLength { get; } = payloadLength;

    public int Status { get; } = status;

    public string Reason { get; } = reason;

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; } = headers;

    public Stream Payload { get; } = payload;

    public string? Header(string name) => WarcRecordReader.Find(Headers, name);

    /// <summary>The payload, with <c>Content-Encoding</c> gzip, x-gzip, deflate and br undone when <paramref name="decode"/>
    /// (last applied first); <c>RemainingEncoding</c> names what is still applied (null when nothing is).</summary>
    public (Stream Body, string? RemainingEncoding) OpenPayload(bool decode) => ContentCodings.Open(Payload, Header("Content-Encoding"), decode);

    public ValueTask DisposeAsync() => Payload.DisposeAsync();
}

/// <summary>Undoing HTTP content codings on a stream.</summary>
internal static class ContentCodings
{
    public static (Stream Body, string? RemainingEncoding) Open(Stream body, string? contentEncoding, bool decode)
    {
        ArgumentNullException.ThrowIfNull(body);
        var codings = (contentEncoding ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(c => !c.Equals("identity", StringComparison.OrdinalIgnoreCase)).ToList();
        if (!decode)
        {
            return (body, codings.Count == 0 ? null : string.Join(", ", codings));
        }

        // Codings apply in the order listed, so they are undone from the last; an unknown one stops the undoing.
        while (codings.Count > 0)
        {
            Stream? decoded = codings[^1].ToUpperInvariant() switch
            {
                "GZIP" or "X-GZIP" => new GZipStream(body, CompressionMode.Decompress),
                "DEFLATE" => new DeflateAutoStream(body),
                "BR" => new BrotliStream(body, CompressionMode.Decompress),
                _ => null,
            };
            if (decoded is null)
            {
                break;
            }

            body = decoded;
            codings.RemoveAt(codings.Count - 1);
        }

        return (body, codings.Count == 0 ? null : string.Join(", ", codings));
    }
}
