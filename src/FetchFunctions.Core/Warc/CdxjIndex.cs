using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace FetchFunctions.Core.Warc;

/// <summary>One line of a CDXJ index: <c>urlkey timestamp {json}</c>; numbers may be written as JSON strings (pywb) or
/// numbers (warcio.js).</summary>
internal sealed record CdxjEntry(string UrlKey, string Timestamp, string? Url, string? Mime, int? Status, string? Filename, long? Offset, long? Length)
{
    public static CdxjEntry Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var first = line.IndexOf(' ', StringComparison.Ordinal);
        var second = first < 0 ? -1 : line.IndexOf(' ', first + 1);
        if (second < 0)
        {
            throw new InvalidDataException($"The index line '{WarcRecordReader.Shorten(line)}' is not 'urlkey timestamp {{json}}'.");
        }

        try
        {
            using var json = JsonDocument.Parse(line.AsMemory(second + 1));
            var root = json.RootElement;
            return new CdxjEntry(line[..first], line[(first + 1)..second], Text(root, "url"), Text(root, "mime"), (int?)Number(root, "status"),
                Text(root, "filename"), Number(root, "offset"), Number(root, "length"));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The index line for '{WarcRecordReader.Shorten(line[..first])}' has no valid JSON block.", ex);
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Number(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number
        : value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out number) ? number
        : null;
}

/// <summary>Looks a urlkey up in a byte-sorted CDXJ blob by binary search over range reads (about log2(size / 64 KiB)
/// reads of 16 KiB), then a streamed scan of the last window: memory and requests stay small whatever the index's size.
/// Every read is pinned to the version first seen, so an index replaced meanwhile fails instead of mixing two.</summary>
internal sealed class CdxjIndex(BlobClient blob)
{
    /// <summary>Below this many bytes between the bounds the search stops and the window is scanned.</summary>
    internal const int ScanWindowBytes = 64 * 1024;

    private const int ProbeBytes = 16 * 1024;

    /// <summary>The longest line start (urlkey and timestamp) a probe reads before calling the index corrupt.</summary>
    private const int MaxKeyBytes = 64 * 1024;

    /// <summary>The lines with exactly <paramref name="urlKey"/>, in index order; null when there is no index blob.
    /// <paramref name="binarySearch"/> false scans from the start (kept to measure the search against).</summary>
    public async Task<List<CdxjEntry>?> FindAsync(string urlKey, CancellationToken cancellationToken, bool binarySearch = true)
    {
        ArgumentNullException.ThrowIfNull(urlKey);
        BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        var pinned = new BlobRequestConditions { IfMatch = properties.ETag };
        // Invariant: lo is a line start and every line before it has a smaller key.
        long lo = 0, hi = properties.ContentLength;
        while (binarySearch && hi - lo > ScanWindowBytes)
        {
            var mid = lo + ((hi - lo) / 2);
            var probe = await ReadAsync(mid - 1, ProbeBytes, pinned, cancellationToken).ConfigureAwait(false);
            var newline = probe.AsSpan().IndexOf((byte)'\n');
            if (newline < 0 || mid + newline >= hi)
            {
                // No line starts in [mid, hi): the search goes on below mid.
                if (newline < 0 && probe.Length == ProbeBytes && mid - 1 + ProbeBytes < hi)
                {
                    // A line longer than a probe: look further before deciding.
                    probe = await ReadAsync(mid - 1, MaxKeyBytes, pinned, cancellationToken).ConfigureAwait(false);
                    newline = probe.AsSpan().IndexOf((byte)'\n');
                    if (newline < 0 && probe.Length == MaxKeyBytes)
                    {
                        throw new InvalidDataException($"The index '{blob.Name}' has a line longer than {MaxKeyBytes} bytes at byte {mid}.");
                    }
                }

                if (newline < 0 || mid + newline >= hi)
                {
                    hi = mid;
                    continue;
                }
            }

            var start = mid + newline;
            var key = KeyAt(probe, newline + 1) ?? KeyAt(await ReadAsync(start, MaxKeyBytes, pinned, cancellationToken).ConfigureAwait(false), 0)
                ?? throw new InvalidDataException($"The index '{blob.Name}' has a line without a urlkey at byte {start}.");
            if (string.CompareOrdinal(key, urlKey) < 0)
            {
                lo = start;
            }
            else
            {
                hi = mid;
            }
        }

        return await ScanAsync(lo, urlKey, pinned, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<CdxjEntry>> ScanAsync(long from, string urlKey, BlobRequestConditions pinned, CancellationToken cancellationToken)
    {
        var found = new List<CdxjEntry>();
        var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false)
        {
            Position = from,
            BufferSize = ScanWindowBytes,
            Conditions = pinned,
        }, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 16 * 1024);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var order = string.CompareOrdinal(space < 0 ? line : line[..space], urlKey);
                if (order > 0)
                {
                    break;
                }

                if (order == 0)
                {
                    found.Add(CdxjEntry.Parse(line));
                }
            }
        }

        return found;
    }

    /// <summary>The urlkey of the line starting at <paramref name="start"/> in <paramref name="bytes"/>, or null when the
    /// bytes end before its first space.</summary>
    private static string? KeyAt(byte[] bytes, int start)
    {
        var space = bytes.AsSpan(start).IndexOf((byte)' ');
        return space < 0 ? null : Encoding.UTF8.GetString(bytes, start, space);
    }

    private async Task<byte[]> ReadAsync(long offset, int length, BlobRequestConditions pinned, CancellationToken cancellationToken)
    {
        var content = await blob.DownloadContentAsync(new BlobDownloadOptions
        {
            Range = new HttpRange(offset, length),
            Conditions = pinned,
        }, cancellationToken).ConfigureAwait(false);
        return content.Value.Content.ToArray();
    }
}
