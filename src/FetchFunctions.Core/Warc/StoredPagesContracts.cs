namespace FetchFunctions.Core.Warc;

/// <summary>Reads a job's stored pages back: one page's body by its URL (from the WARC store by a range read, or from the
/// blobs store), and the whole job as a WACZ. The CLI's <c>get</c> and <c>export</c> and the app's
/// <c>GET /api/crawls/{id}/pages</c> each make one call here.</summary>
public interface IStoredPages
{
    /// <summary>Finds the stored body of <paramref name="url"/> in job <paramref name="jobId"/> and opens it as a stream:
    /// the payload as the server sent it, of transfer coding undone; with <paramref name="decode"/>, of the content
    /// codings gzip, deflate and br undone too. The caller disposes the page.</summary>
    Task<StoredPageLookup> OpenAsync(string jobId, string url, bool decode, CancellationToken cancellationToken);

    /// <summary>Writes job <paramref name="jobId"/>'s WARC files, index and pages as a WACZ 1.1.1 zip to
    /// <paramref name="destination"/>, streamed (a seekable destination, such as a file, gets no data descriptors).</summary>
    Task<WaczExport> ExportWaczAsync(string jobId, Stream destination, CancellationToken cancellationToken);
}

public enum StoredPageOutcome
{
    /// <summary>The page is open (<see cref="StoredPageLookup.Page"/>).</summary>
    Found,

    /// <summary>The job id is not one a job may have.</summary>
    InvalidJobId,

    /// <summary>The URL is not an absolute http(s) URL a job could hold.</summary>
    InvalidUrl,

    /// <summary>The job holds no stored body for that URL: not in the job, failed, or its status not stored.</summary>
    NotStored,
}

/// <summary>What <see cref="IStoredPages.OpenAsync"/> found; <see cref="Detail"/> says why when nothing was.</summary>
public sealed record StoredPageLookup(StoredPageOutcome Outcome, string Detail, StoredPage? Page);

/// <summary>One stored body, open for reading. <see cref="Length"/> is known only when the bytes come out as stored
/// (nothing de-chunked or decoded); <see cref="ContentEncoding"/> names the content codings still applied.</summary>
public sealed class StoredPage(string url, int status, string? contentType, string? contentEncoding, long? length, Stream body) : IAsyncDisposable
{
    /// <summary>The normalised URL looked up.</summary>
    public string Url { get; } = url;

    public int Status { get; } = status;

    public string? ContentType { get; } = contentType;

    public string? ContentEncoding { get; } = contentEncoding;

    public long? Length { get; } = length;

    public Stream Body { get; } = body;

    public ValueTask DisposeAsync() => Body.DisposeAsync();
}

public enum WaczOutcome
{
    Written,
    InvalidJobId,

    /// <summary>No job is stored under that id.</summary>
    NoSuchJob,

    /// <summary>The job has no WARC files and index to pack: it was stored with the blobs store, or has not finished.</summary>
    NotWarc,
}

/// <summary>What <see cref="IStoredPages.ExportWaczAsync"/> did: the files and pages written, or why nothing was.</summary>
public sealed record WaczExport(WaczOutcome Outcome, string Detail, int WarcFiles = 0, long Pages = 0, long Bytes = 0);
