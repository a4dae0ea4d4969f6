using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Warc;

/// <summary>Finds a URL's stored body and opens it. The job's sorted index (<c>{jobId}/index.cdxj</c>, written when a
/// job ends) is searched first and names the batch; that batch's results row then says where the body is (for a
/// redirect, the final response; for a failure or an unstored status, nowhere). A job without an index (the blobs
/// store, or a job still running) has its body blob tried by name, then its results rows streamed. A job reads only its
/// own blobs: the id is validated, and the names a row gives are checked to lie in the job's folders.</summary>
internal sealed partial class StoredPageReader(JobStore store, IOptions<CrawlOptions> crawlOptions, WaczWriter wacz) : IStoredPages
{
    [GeneratedRegex(@"^FETCHFN-\d{14}-(\d{6})-\d{3}\.warc\.gz$", RegexOptions.CultureInvariant)]
    private static partial Regex OurWarcFile();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.warc(\.gz)?$", RegexOptions.CultureInvariant)]
    private static partial Regex WarcFileName();

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex BodyHash();

    /// <summary>Where a stored body is: a body blob, or a record in one of the job's WARC files.</summary>
    internal sealed record Location(string? BlobName, string? WarcFile, long Offset, long Length);

    public async Task<StoredPageLookup> OpenAsync(string jobId, string url, bool decode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(url);
        if (!CrawlJobValidator.IsValidJobId(jobId))
        {
            return new(StoredPageOutcome.InvalidJobId, "The job id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit.", null);
        }

        if (UrlNormaliser.TryNormalise(url, crawlOptions.Value.MaxUrlLength, [], out var normalised) is { } problem)
        {
            return new(StoredPageOutcome.InvalidUrl, $"The URL {problem}", null);
        }

        var (location, why) = await LocateAsync(jobId, normalised, cancellationToken).ConfigureAwait(false);
        var page = location is null ? null : await OpenAsync(jobId, normalised, location, decode, cancellationToken).ConfigureAwait(false);
        return page is null
            ? new(StoredPageOutcome.NotStored, $"Job '{jobId}' holds no stored body for {normalised}: {why ?? "its stored body is gone"}.", null)
            : new(StoredPageOutcome.Found, string.Empty, page);
    }

    public Task<WaczExport> ExportWaczAsync(string jobId, Stream destination, CancellationToken cancellationToken) =>
        wacz.WriteAsync(jobId, destination, cancellationToken);

    /// <summary>Where the body of <paramref name="url"/> (normalised) is, or null and why not.</summary>
    internal async Task<(Location? Location, string? Why)> LocateAsync(string jobId, string url, CancellationToken cancellationToken)
    {
        var index = new CdxjIndex(store.Container.GetBlobClient(BlobNames.Index(jobId)));
        var entries = await index.FindAsync(Surt.Of(url), cancellationToken).ConfigureAwait(false);
        if (entries is not null)
        {
            // The latest capture of exactly this URL (one SURT key can hold http and https, www and not).
            var entry = entries.Where(e => string.Equals(e.Url, url, StringComparison.Ordinal)).MaxBy(e => e.Timestamp);
            if (entry is null)
            {
                return (null, "it is not in the job's index");
            }

            if (entry.Filename is { } file && OurWarcFile().Match(file) is { Success: true } match
                && await FindRowAsync(BlobNames.BatchResults(jobId, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)), url, cancellationToken).ConfigureAwait(false) is { } row)
            {
                return FromRow(row);
            }

            // Reached only as another URL's redirect target (or indexed by another tool): the record itself is the page.
            return entry is { Status: not (>= 300 and < 400), Filename: { } name, Offset: { } offset, Length: { } length }
                ? (new Location(null, name, offset, length), null)
                : (null, $"the index holds only a status {entry.Status} response for it");
        }

        // No index (the blobs store, or a job still running): a body blob is named by its URL ...
        var bodyBlob = BlobNames.Body(jobId, new Uri(url));
        if ((await store.Container.GetBlobClient(bodyBlob).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value)
        {
            return (new Location(bodyBlob, null, 0, 0), null);
        }

        // ... and otherwise the results rows say, batch by batch.
        UrlResult? redirected = null;
        try
        {
            await foreach (var item in store.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = BlobNames.BatchResultsPrefix(jobId) }, cancellationToken).ConfigureAwait(false))
            {
                await foreach (var row in RowsAsync(item.Name, cancellationToken).ConfigureAwait(false))
                {
                    if (string.Equals(row.Url, url, StringComparison.Ordinal))
                    {
                        return FromRow(row);
                    }

                    if (redirected is null && string.Equals(row.FinalUrl, url, StringComparison.Ordinal) && FromRow(row).Location is not null)
                    {
                        redirected = row;
                    }
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container yet: nothing was ever stored.
        }

        return redirected is null ? (null, "it is not in the job's results") : FromRow(redirected);
    }

    private static (Location? Location, string? Why) FromRow(UrlResult row) => row switch
    {
        // A status outside 2xx that storeStatuses stores is still a stored body; a body cut short is not.
        { ErrorKind: { } kind and not FetchErrorKind.HttpStatus } => (null, $"its fetch failed ({kind})"),
        { WarcFile: { } file, WarcOffset: { } offset, WarcLength: { } length } => (new Location(null, file, offset, length), null),
        { BlobName: { } blob } => (new Location(blob, null, 0, 0), null),
        _ => (null, string.Create(CultureInfo.InvariantCulture, $"its status {row.Status} was not stored")),
    };

    private async Task<UrlResult?> FindRowAsync(string resultsBlob, string url, CancellationToken cancellationToken)
    {
        await foreach (var row in RowsAsync(resultsBlob, cancellationToken).ConfigureAwait(false))
        {
            if (string.Equals(row.Url, url, StringComparison.Ordinal))
            {
                return row;
            }
        }

        return null;
    }

    /// <summary>A results blob's rows, streamed; none when it does not exist (a batch not yet done).</summary>
    private async IAsyncEnumerable<UrlResult> RowsAsync(string blobName, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Stream stream;
        try
        {
            stream = await store.Container.GetBlobClient(blobName).OpenReadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            yield break;
        }

        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0)
                {
                    yield return JsonSerializer.Deserialize(line, CrawlJsonContext.Default.UrlResult)
                        ?? throw new InvalidDataException($"A null line in '{blobName}'.");
                }
            }
        }
    }

    private async Task<StoredPage?> OpenAsync(string jobId, string url, Location location, bool decode, CancellationToken cancellationToken)
    {
        try
        {
            return location.BlobName is { } blobName
                ? await OpenBlobAsync(jobId, url, blobName, decode, cancellationToken).ConfigureAwait(false)
                : await OpenRecordAsync(jobId, url, location, decode, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 416)
        {
            return null;
        }
    }

    private async Task<StoredPage> OpenBlobAsync(string jobId, string url, string blobName, bool decode, CancellationToken cancellationToken)
    {
        var prefix = $"{jobId}/bodies/";
        if (!blobName.StartsWith(prefix, StringComparison.Ordinal) || !BodyHash().IsMatch(blobName.AsSpan(prefix.Length)))
        {
            throw new InvalidDataException($"A results row of job '{jobId}' names a body outside the job's bodies folder.");
        }

        var download = (await store.Container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        var details = download.Details;
        var status = details.Metadata.TryGetValue("status", out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 200;
        // The fetch stored the body decoded of what HttpClient undoes; the blob names any coding that is left.
        var (body, remaining) = ContentCodings.Open(download.Content, details.ContentEncoding, decode);
        return new StoredPage(url, status, details.ContentType, remaining, ReferenceEquals(body, download.Content) ? details.ContentLength : null, body);
    }

    private async Task<StoredPage> OpenRecordAsync(string jobId, string url, Location location, bool decode, CancellationToken cancellationToken)
    {
        if (location.WarcFile is not { } file || !WarcFileName().IsMatch(file) || location.Offset < 0 || location.Length <= 0)
        {
            throw new InvalidDataException($"A location in job '{jobId}' names no record of the job's WARC files.");
        }

        var download = (await store.Container.GetBlobClient(BlobNames.WarcFolder(jobId) + file).DownloadStreamingAsync(new BlobDownloadOptions
        {
            Range = new HttpRange(location.Offset, location.Length),
        }, cancellationToken).ConfigureAwait(false)).Value;
        var record = await WarcRecordReader.ReadAsync(download.Content, cancellationToken).ConfigureAwait(false);
        try
        {
            var http = await record.ReadHttpAsync(cancellationToken).ConfigureAwait(false);
            var (body, remaining) = http.OpenPayload(decode);
            return new StoredPage(url, http.Status, http.Header("Content-Type"), remaining, ReferenceEquals(body, http.Payload) ? http.PayloadLength : null, body);
        }
        catch
        {
            await record.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
