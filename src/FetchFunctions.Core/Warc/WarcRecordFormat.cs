using System.Globalization;
using System.Net;
using System.Text;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Warc;

/// <summary>The text parts of WARC/1.1 records as we write them: WARC header blocks and the HTTP heads inside
/// <c>request</c> and <c>response</c> blocks. Everything is ASCII (URLs are written as <see cref="Uri.AbsoluteUri"/>,
/// header values as received, non-ASCII characters replaced by '?').</summary>
internal static class WarcRecordFormat
{
    public const string Version = "WARC/1.1";
    public const string RequestContentType = "application/http;msgtype=request";
    public const string ResponseContentType = "application/http;msgtype=response";

    /// <summary>The prefix of the response headers the stored payload no longer matches (it is stored decoded, without
    /// transfer coding): <c>Content-Encoding</c> (when the engine decoded it), <c>Transfer-Encoding</c> and
    /// <c>Content-Length</c> are kept under this prefix, and a true <c>Content-Length</c> is written.</summary>
    public const string RenamedPrefix = "X-Crawler-";

    public static readonly byte[] RecordEnd = "\r\n\r\n"u8.ToArray();

    public static string NewRecordId() => $"<urn:uuid:{Guid.NewGuid():D}>";

    public static string Date(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The 14-digit timestamp of CDX(J) lines.</summary>
    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>A WARC header block, the blank line after it included.</summary>
    public static byte[] Header(WarcHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        var text = new StringBuilder(512);
        text.Append(Version).Append("\r\n");
        Field(text, "WARC-Type", header.Type);
        Field(text, "WARC-Record-ID", header.RecordId);
        Field(text, "WARC-Date", Date(header.Date));
        if (header.TargetUri is not null)
        {
            Field(text, "WARC-Target-URI", header.TargetUri);
        }

        if (header.Filename is not null)
        {
            Field(text, "WARC-Filename", header.Filename);
        }

        if (header.IpAddress is not null)
        {
            Field(text, "WARC-IP-Address", header.IpAddress.ToString());
        }

        if (header.ConcurrentTo is not null)
        {
            Field(text, "WARC-Concurrent-To", header.ConcurrentTo);
        }

        if (header.BlockDigest is not null)
        {
            Field(text, "WARC-Block-Digest", header.BlockDigest);
        }

        if (header.PayloadDigest is not null)
        {
            Field(text, "WARC-Payload-Digest", header.PayloadDigest);
        }

        if (header.Truncated is not null)
        {
            Field(text, "WARC-Truncated", header.Truncated);
        }

        Field(text, "Content-Type", header.ContentType);
        Field(text, "Content-Length", header.ContentLength.ToString(CultureInfo.InvariantCulture));
        text.Append("\r\n");
        return Ascii(text);
    }

    /// <summary>The HTTP request head of a <c>request</c> record's block (the whole block: a GET has no body).</summary>
    public static byte[] RequestHead(RecordedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = new StringBuilder(256);
        text.Append(request.Method).Append(' ').Append(request.Uri.PathAndQuery).Append(' ').Append(HttpVersion(request.Version)).Append("\r\n");
        foreach (var (name, value) in request.Headers)
        {
            Field(text, name, value);
        }

        text.Append("\r\n");
        return Ascii(text);
    }

    /// <summary>The HTTP response head of a <c>response</c> record's block, for a stored payload of
    /// <paramref name="payloadLength"/> bytes (see <see cref="RenamedPrefix"/>).</summary>
    public static byte[] ResponseHead(RecordedResponse response, long payloadLength)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = new StringBuilder(512);
        text.Append(HttpVersion(response.Version)).Append(' ').Append(response.Status.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(response.Reason))
        {
            text.Append(' ').Append(response.Reason);
        }

        text.Append("\r\n");
        foreach (var (name, value) in response.Headers)
        {
            var renamed = name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                || (response.DecodedEncoding is not null && name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase));
            Field(text, renamed ? RenamedPrefix + name : name, value);
        }

        Field(text, "Content-Length", payloadLength.ToString(CultureInfo.InvariantCulture));
        text.Append("\r\n");
        return Ascii(text);
    }

    /// <summary>The <c>application/warc-fields</c> block of a file's <c>warcinfo</c> record.</summary>
    public static byte[] WarcinfoFields(IEnumerable<KeyValuePair<string, string>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var text = new StringBuilder(256);
        foreach (var (name, value) in fields)
        {
            Field(text, name, value);
        }

        return Ascii(text);
    }

    private static string HttpVersion(Version version) => version.Major >= 2 ? "HTTP/2" : $"HTTP/{version.Major}.{version.Minor}";

    private static void Field(StringBuilder text, string name, string value)
    {
        text.Append(name).Append(": ");
        foreach (var c in value)
        {
            // A header value never spans lines in a record: a CR or LF (or anything not printable ASCII) becomes '?'.
            text.Append(c is >= ' ' and <= '~' or '\t' ? c : '?');
        }

        text.Append("\r\n");
    }

    private static byte[] Ascii(StringBuilder text)
    {
        var bytes = new byte[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            bytes[i] = c <= '\x7f' ? (byte)c : (byte)'?';
        }

        return bytes;
    }
}

/// <summary>The named fields of one WARC header block.</summary>
internal sealed record WarcHeader(
    string Type,
    string RecordId,
    DateTimeOffset Date,
    string ContentType,
    long ContentLength,
    string? TargetUri = null,
    IPAddress? IpAddress = null,
    string? ConcurrentTo = null,
    string? BlockDigest = null,
    string? PayloadDigest = null,
    string? Truncated = null,
    string? Filename = null);
