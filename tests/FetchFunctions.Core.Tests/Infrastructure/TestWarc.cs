using System.Globalization;
using System.IO.Compression;
using System.Text;
using Azure.Storage.Blobs;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>WARC records built by hand for tests (one gzip member each), and a job's stored pages laid out in blobs as
/// the shared shapes say: <c>{jobId}/warc/*.warc.gz</c>, <c>{jobId}/results/*.ndjson</c>, <c>{jobId}/index.cdxj</c>.
/// Uses no Core code, so the CLI's and the app's tests link it too.</summary>
internal static class TestWarc
{
    public const string Timestamp = "20261205120000";

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] Record(string type, string? targetUri, string contentType, byte[] block, params (string Name, string Value)[] extra)
    {
        var head = new StringBuilder();
        head.Append("WARC/1.1\r\n");
        head.Append(CultureInfo.InvariantCulture, $"WARC-Type: {type}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"WARC-Record-ID: <urn:uuid:{Guid.NewGuid()}>\r\n");
        head.Append("WARC-Date: 2026-12-05T12:00:00Z\r\n");
        if (targetUri is not null)
        {
            head.Append(CultureInfo.InvariantCulture, $"WARC-Target-URI: {targetUri}\r\n");
        }

        foreach (var (name, value) in extra)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {block.Length}\r\n\r\n");
        return [.. Encoding.UTF8.GetBytes(head.ToString()), .. block, .. "\r\n\r\n"u8];
    }

    /// <summary>The block of a response record: status line, headers, blank line, payload as given.</summary>
    public static byte[] HttpResponse(int status, IEnumerable<(string Name, string Value)> headers, byte[] payload)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Status")}\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append("\r\n");
        return [.. Encoding.Latin1.GetBytes(head.ToString()), .. payload];
    }

    public static byte[] ResponseMember(string url, int status, IEnumerable<(string Name, string Value)> headers, byte[] payload) =>
        Gzip(Record("response", url, "application/http;msgtype=response", HttpResponse(status, headers, payload)));

    public static byte[] Chunked(byte[] payload, int chunk)
    {
        var output = new List<byte>();
        for (var i = 0; i < payload.Length; i += chunk)
        {
            var size = Math.Min(chunk, payload.Length - i);
            output.AddRange(Encoding.ASCII.GetBytes(size.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
            output.AddRange(payload.AsSpan(i, size).ToArray());
            output.AddRange("\r\n"u8.ToArray());
        }

        output.AddRange("0\r\n\r\n"u8.ToArray());
        return [.. output];
    }

    /// <summary>A job's stored pages, as the WARC store lays them out: one WARC file per batch (warcinfo first, then a
    /// request and a response record per page), a results blob per batch and, optionally, the job's sorted index.</summary>
    internal sealed class Job(string jobId)
    {
        private readonly Dictionary<int, (MemoryStream File, List<string> Rows)> _batches = [];
        private readonly List<string> _index = [];

        public string JobId { get; } = jobId;

        public static string FileName(int batch) => string.Create(CultureInfo.InvariantCulture, $"FETCHFN-20261205115959-{batch:D6}-000.warc.gz");

        /// <summary>Stores <paramref name="payload"/> as the response to <paramref name="url"/> in <paramref name="batch"/>'s file;
        /// <paramref name="urlKey"/> (a SURT function) puts it in the index too.</summary>
        public (long Offset, long Length) AddPage(int batch, string url, int status, byte[] payload, string contentType = "text/html",
            IEnumerable<(string Name, string Value)>? headers = null, Func<string, string>? urlKey = null, string? rowUrl = null, bool row = true)
        {
            var file = File(batch);
            file.File.Write(Gzip(Record("request", url, "application/http;msgtype=request", Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))));
            var offset = file.File.Position;
            var allHeaders = (headers ?? []).Prepend(("Content-Type", contentType)).Append(("Content-Length", payload.Length.ToString(CultureInfo.InvariantCulture)));
            var member = ResponseMember(url, status, allHeaders, payload);
            file.File.Write(member);
            if (row)
            {
                file.Rows.Add(Row(rowUrl ?? url, status, contentType, payload.Length, $"\"warcFile\":\"{FileName(batch)}\",\"warcOffset\":{offset},\"warcLength\":{member.Length}",
                    finalUrl: rowUrl is null ? null : url));
            }

            if (urlKey is not null)
            {
                _index.Add($"{urlKey(url)} {Timestamp} {{\"url\":\"{url}\",\"mime\":\"{contentType}\",\"status\":\"{status}\",\"digest\":\"sha1:AAAA\",\"length\":\"{member.Length}\",\"offset\":\"{offset}\",\"filename\":\"{FileName(batch)}\"}}");
            }

            return (offset, member.Length);
        }

        /// <summary>A results row for a URL whose body was not stored (a failure, or a status outside storeStatuses).</summary>
        public void AddUnstored(int batch, string url, int? status) =>
            File(batch).Rows.Add(status is null
                ? $"{{\"url\":\"{url}\",\"host\":\"h\",\"bytes\":0,\"attempts\":1,\"durationMs\":1,\"errorKind\":\"Connect\",\"error\":\"reset\"}}"
                : Row(url, status.Value, "text/html", 0, status >= 400 ? "\"errorKind\":\"HttpStatus\"" : null));

        public async Task UploadAsync(BlobContainerClient container)
        {
            await container.GetBlobClient($"{JobId}/job.json").UploadAsync(BinaryData.FromString("{}"), overwrite: true);
            foreach (var (batch, (file, rows)) in _batches)
            {
                await container.GetBlobClient($"{JobId}/warc/{FileName(batch)}").UploadAsync(new BinaryData(file.ToArray()), overwrite: true);
                await container.GetBlobClient(string.Create(CultureInfo.InvariantCulture, $"{JobId}/results/{batch:D6}.ndjson"))
                    .UploadAsync(BinaryData.FromString(string.Join('\n', rows) + "\n"), overwrite: true);
            }

            if (_index.Count > 0)
            {
                _index.Sort(StringComparer.Ordinal);
                await container.GetBlobClient($"{JobId}/index.cdxj").UploadAsync(BinaryData.FromString(string.Join('\n', _index) + "\n"), overwrite: true);
            }
        }

        private (MemoryStream File, List<string> Rows) File(int batch)
        {
            if (!_batches.TryGetValue(batch, out var file))
            {
                file = (new MemoryStream(), []);
                file.File.Write(Gzip(Record("warcinfo", null, "application/warc-fields", "software: tests\r\n"u8.ToArray())));
                _batches[batch] = file;
            }

            return file;
        }

        private static string Row(string url, int status, string contentType, long bytes, string? location, string? finalUrl = null) =>
            $"{{\"url\":\"{url}\",\"host\":\"h\"{(finalUrl is null ? "" : $",\"finalUrl\":\"{finalUrl}\"")},\"status\":{status},\"contentType\":\"{contentType}\",\"bytes\":{bytes},\"attempts\":1,\"durationMs\":1{(location is null ? "" : "," + location)}}}";
    }
}
