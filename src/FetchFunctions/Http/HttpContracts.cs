using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;

namespace FetchFunctions.Http;

/// <summary>Body of the 202 answer to a submitted job.</summary>
internal sealed record CrawlAccepted(string JobId, string StatusUrl, int UrlCount, int DuplicatesRemoved);

/// <summary>Body of <c>GET /api/crawls/{id}</c>.</summary>
internal sealed record CrawlStatus(
    string JobId,
    string RuntimeStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    CrawlProgress? Progress,
    CrawlSummary? Summary,
    CrawlFailure? Failure);

/// <summary>Why an orchestration failed (infrastructure, not URLs: failed URLs are in the summary).</summary>
internal sealed record CrawlFailure(string ErrorType, string ErrorMessage);

/// <summary>Body of the 202 answer to a cancel request.</summary>
internal sealed record CrawlCancellation(string JobId, string RuntimeStatus, bool TerminateRequested, string StatusUrl);
