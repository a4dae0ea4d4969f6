namespace FetchFunctions.Core.Summary;

/// <summary>Placeholder: mergeable per-batch statistics (defined with the job logic).</summary>
public sealed record BatchStats;

/// <summary>Placeholder: the crawl summary (defined with the job logic).</summary>
public sealed record CrawlSummary;
