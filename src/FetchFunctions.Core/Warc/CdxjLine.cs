using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FetchFunctions.Core.Warc;

/// <summary>One CDXJ line per response record: <c>&lt;SURT urlkey&gt; &lt;14-digit timestamp&gt; {json}</c>, the JSON
/// holding url, mime (the Content-Type without parameters; omitted when absent), status, digest (the payload digest,
/// <c>sha1:</c> included), length (the compressed record's), offset and filename, numbers as strings as pywb writes them.</summary>
internal static class CdxjLine
{
    // As JSON.stringify writes it (warcio, pywb): no HTML escaping of '&', '<' or '>' in URLs.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Format(string url, DateTimeOffset date, string? contentType, int status, string payloadDigest, long length, long offset, string filename)
    {
        var json = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(json, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("url", url);
            if (Mime(contentType) is { } mime)
            {
                writer.WriteString("mime", mime);
            }

            writer.WriteString("status", status.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("digest", payloadDigest);
            writer.WriteString("length", length.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("offset", offset.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("filename", filename);
            writer.WriteEndObject();
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Surt.Of(url)} {WarcRecordFormat.Timestamp(date)} {Encoding.UTF8.GetString(json.WrittenSpan)}");
    }

    private static string? Mime(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var mime = (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim();
        return mime.Length == 0 ? null : mime;
    }
}
