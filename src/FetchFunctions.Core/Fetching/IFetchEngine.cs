using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Fetching;

/// <summary>Fetches one URL and streams its body into a blob.</summary>
internal interface IFetchEngine
{
    /// <summary>Never throws for a failed fetch (the result says why); throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled.</summary>
    Task<FetchResult> FetchAsync(FetchRequest request, CancellationToken cancellationToken);
}

/// <summary>One URL to fetch, where its body goes, and the effective per-request policy. <see cref="Sink"/> replaces the
/// engine's blob sink for this request (robots.txt is read into memory); a sink may stop reading before the body's end.
/// <see cref="Links"/>, for a job that discovers links, keeps the start of an HTML body as it streams into the sink and
/// logs the page's links once the body is read.</summary>
internal sealed record FetchRequest(Uri Url, string BlobName, FetchPolicy Policy, IRecordSink? Sink = null, Discovery.PageLinkCapture? Links = null)
{
    /// <summary>Asked before each redirect is followed, with the URL it leads to: a reason not to request it (its origin's
    /// robots.txt disallows it), or null to go on. The job's batches set it; robots.txt itself is fetched without.</summary>
    public Func<Uri, CancellationToken, Task<string?>>? RedirectDisallowed { get; init; }
}
