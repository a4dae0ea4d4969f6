using FetchFunctions.Core.Fetching;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The normalised URLs of one batch, as read from its shard's manifest.</summary>
internal sealed record BatchManifest(string JobId, int BatchIndex, IReadOnlyList<string> Urls);

/// <summary>The first line of a shard manifest: where each batch's URL lines start, in bytes after this line.
/// <see cref="Offsets"/> has one entry per batch of the shard plus the end.</summary>
internal sealed record ShardManifestHeader(string JobId, int ShardIndex, int FirstBatch, long[] Offsets);

/// <summary>One line of a batch's results (<c>{jobId}/results/{index}.ndjson</c>): the outcome of one URL, as the engine
/// reported it (see <see cref="FetchResult"/>) plus its host; <see cref="Started"/> is false when the batch deadline (Crawl:BatchDeadline, counted
/// from the lane call's start) came before the fetch could start. A stored body is either a blob (<see cref="BlobName"/>, the blobs store) or a response
/// record in one of the job's WARC files (<see cref="WarcFile"/>, a name under <c>{jobId}/warc/</c>, and the compressed
/// record's <see cref="WarcOffset"/> and <see cref="WarcLength"/>); null fields are omitted from the line.</summary>
internal sealed record UrlResult(
    string Url,
    string Host,
    string? FinalUrl,
    int? Status,
    string? ContentType,
    long Bytes,
    string? Sha256,
    int Attempts,
    double DurationMs,
    string? BlobName,
    FetchErrorKind? ErrorKind,
    string? Error,
    bool Started = true,
    string? WarcFile = null,
    long? WarcOffset = null,
    long? WarcLength = null)
{
    /// <summary>The page's depth, for a job that discovers links: 0 for its own URLs and its sitemaps', d + 1 for a link on
    /// a page of depth d (null for a job that does not discover).</summary>
    public int? Depth { get; init; }

    /// <summary>Where a discovered URL was found: the final URL of the page that linked to it, or the sitemap that listed it.</summary>
    public string? FoundOn { get; init; }

    public bool Succeeded => ErrorKind is null;

    /// <summary>Whether a body is stored for this URL, in either store.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasStoredBody => BlobName is not null || WarcFile is not null;

    public static UrlResult From(FetchResult result, string host)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new UrlResult(result.Url, host, result.FinalUrl, result.StatusCode, result.ContentType, result.Bytes, result.Sha256, result.Attempts,
            result.Duration.TotalMilliseconds, result.BlobName, result.ErrorKind, result.Error, true, result.WarcFile, result.WarcOffset, result.WarcLength);
    }

    public static UrlResult Failure(string url, string host, FetchErrorKind kind, string error, bool started, TimeSpan duration) =>
        new(url, host, null, null, null, 0, null, 0, duration.TotalMilliseconds, null, kind, error, started);
}
