using FetchFunctions.Core.Fetching;
using Microsoft.Extensions.Configuration;

namespace FetchFunctions.Core.Jobs;

/// <summary>The operator's job defaults and limits as configured (the <c>Crawl</c> and <c>Fetch</c> sections), for a
/// host to show beside the job options it offers (the CLI's <c>--help</c>). A job may only tighten them.</summary>
public sealed record OperatorDefaults
{
    public required int MaxConcurrency { get; init; }
    public required int MaxConcurrencyPerHost { get; init; }
    public required TimeSpan PerHostDelay { get; init; }
    public required int MaxRetries { get; init; }
    public required TimeSpan AttemptTimeout { get; init; }
    public required TimeSpan TotalTimeout { get; init; }
    public required TimeSpan FetchDeadline { get; init; }
    public required long MaxBodyBytes { get; init; }
    public required string UserAgent { get; init; }
    public required IReadOnlyList<string> StoreStatuses { get; init; }
    public required IReadOnlyList<string> AllowedNetworks { get; init; }
    public required int BatchSize { get; init; }
    public required int MaxBatchSize { get; init; }
    public required int MaxBatchesInFlight { get; init; }
    public required int MaxInlineUrls { get; init; }
    public required int MaxUrls { get; init; }
    public required int MaxUrlLength { get; init; }
    public required string UrlListPrefix { get; init; }
    public required int MaxPages { get; init; }
    public required int MaxDepth { get; init; }
    public required string Store { get; init; }
    public required long WarcFileBytes { get; init; }

    /// <summary>The values in <paramref name="configuration"/>, Core's defaults where it says nothing. Not validated:
    /// the host's start-up validation reports bad values; a value that does not even bind throws
    /// <see cref="InvalidOperationException"/> here.</summary>
    public static OperatorDefaults From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var crawl = configuration.GetSection(CrawlOptions.SectionName).Get<CrawlOptions>() ?? new CrawlOptions();
        var fetch = configuration.GetSection(FetchOptions.SectionName).Get<FetchOptions>() ?? new FetchOptions();
        return new OperatorDefaults
        {
            MaxConcurrency = crawl.MaxConcurrency,
            MaxConcurrencyPerHost = crawl.MaxConcurrencyPerHost,
            PerHostDelay = crawl.PerHostDelay,
            MaxRetries = fetch.MaxRetries,
            AttemptTimeout = fetch.AttemptTimeout,
            TotalTimeout = fetch.TotalTimeout,
            FetchDeadline = fetch.FetchDeadline,
            MaxBodyBytes = fetch.MaxBodyBytes,
            UserAgent = fetch.UserAgent,
            StoreStatuses = [.. fetch.EffectiveStoreStatuses],
            AllowedNetworks = [.. fetch.AllowedNetworks],
            BatchSize = crawl.BatchSize,
            MaxBatchSize = crawl.MaxBatchSize,
            MaxBatchesInFlight = crawl.MaxBatchesInFlight,
            MaxInlineUrls = crawl.MaxInlineUrls,
            MaxUrls = crawl.MaxUrls,
            MaxUrlLength = crawl.MaxUrlLength,
            UrlListPrefix = crawl.UrlListPrefix,
            MaxPages = crawl.EffectiveMaxPages,
            MaxDepth = crawl.MaxDepth,
            Store = crawl.Store,
            WarcFileBytes = crawl.WarcFileBytes,
        };
    }
}
