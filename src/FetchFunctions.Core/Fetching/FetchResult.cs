namespace FetchFunctions.Core.Fetching;

/// <summary>Why a fetch did not produce a stored 2xx body.</summary>
public enum FetchErrorKind
{
    InvalidUrl,
    BlockedByPolicy,
    Dns,
    Connect,
    Tls,
    Timeout,
    HttpStatus,
    TooLarge,
    TooManyRedirects,
    RedirectLoop,
    BodyInterrupted,
    CircuitOpen,
    Storage,

    /// <summary>Not requested: the origin's robots.txt disallows the URL for our user agent, or robots.txt was
    /// unreachable (5xx, 429 or no answer), which disallows the whole origin for the job (RFC 9309 2.3.1.4).</summary>
    DisallowedByRobots,

    /// <summary>For hosts that record a URL their caller cancelled; the engine itself throws
    /// <see cref="OperationCanceledException"/> instead of returning this.</summary>
    Cancelled,
}

/// <summary>The outcome of fetching one URL. Small by design: it travels in manifests, never the body.</summary>
/// <param name="Url">The URL as requested (normalised).</param>
/// <param name="FinalUrl">The URL after redirects; null when no response was received.</param>
/// <param name="StatusCode">The final HTTP status; null when no response was received.</param>
/// <param name="ContentType">The response's content type, if any.</param>
/// <param name="Bytes">Body bytes read (after decompression) by the last body attempt, stored or not: a stored body's size;
/// for a body stopped as too large, the bytes read up to one past the cap; for a body that broke off, what arrived.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the stored body; null when nothing was stored.</param>
/// <param name="Attempts">HTTP attempts made over all hops, retries and body re-fetches included.</param>
/// <param name="Duration">Wall time of the whole fetch, redirects and body included.</param>
/// <param name="BlobName">The stored body's blob name; null when nothing was stored.</param>
/// <param name="ErrorKind">Null on success.</param>
/// <param name="Error">A human-readable reason; null on success.</param>
/// <param name="WarcFile">The WARC file (name only) holding the body's response record; null when stored as a blob or not stored.</param>
/// <param name="WarcOffset">The response record's offset in <paramref name="WarcFile"/>.</param>
/// <param name="WarcLength">The response record's compressed length (its gzip member).</param>
public sealed record FetchResult(
    string Url,
    string? FinalUrl,
    int? StatusCode,
    string? ContentType,
    long Bytes,
    string? Sha256,
    int Attempts,
    TimeSpan Duration,
    string? BlobName,
    FetchErrorKind? ErrorKind,
    string? Error,
    string? WarcFile = null,
    long? WarcOffset = null,
    long? WarcLength = null)
{
    public bool Succeeded => ErrorKind is null;
}
