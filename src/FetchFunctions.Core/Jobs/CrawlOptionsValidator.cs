using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Jobs;

/// <summary>Cross-field rules of <see cref="CrawlOptions"/>, including the ones that chain into <see cref="FetchOptions"/>:
/// Fetch:AttemptTimeout &lt; Fetch:TotalTimeout ≤ Fetch:FetchDeadline (checked by the engine's own validator) &lt;
/// Crawl:BatchDeadline &lt; Crawl:FunctionTimeout − 30 s, so that a lane call never outlives the function timeout, and
/// Crawl:LaneBudget + Fetch:FetchDeadline ≤ Crawl:BatchDeadline, so a fetch started at the budget can finish.</summary>
internal sealed class CrawlOptionsValidator(IOptions<FetchOptions> fetchOptions) : IValidateOptions<CrawlOptions>
{
    public ValidateOptionsResult Validate(string? name, CrawlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var fetch = ValidFetchOptionsOrNull();
        var failures = new List<string>();

        if (options.MaxInlineUrls > options.MaxUrls)
        {
            failures.Add($"Crawl:MaxInlineUrls ({options.MaxInlineUrls}) must not exceed Crawl:MaxUrls ({options.MaxUrls}).");
        }

        if (options.MaxRequestBodyBytes < options.MinRequestBodyBytes)
        {
            failures.Add($"Crawl:MaxRequestBodyBytes ({options.MaxRequestBodyBytes}) must be at least {options.MinRequestBodyBytes}: "
                + $"Crawl:MaxInlineUrls ({options.MaxInlineUrls}) URLs of Crawl:MaxUrlLength ({options.MaxUrlLength}) characters, "
                + $"quoted and comma-separated, plus {CrawlOptions.RequestBodyRoomForOptions} bytes for the job's options.");
        }

        if (options.BatchSize > options.MaxBatchSize)
        {
            failures.Add($"Crawl:BatchSize ({options.BatchSize}) must not exceed Crawl:MaxBatchSize ({options.MaxBatchSize}).");
        }

        if (options.MaxConcurrencyPerHost > options.MaxConcurrency)
        {
            failures.Add($"Crawl:MaxConcurrencyPerHost ({options.MaxConcurrencyPerHost}) must not exceed Crawl:MaxConcurrency ({options.MaxConcurrency}).");
        }

        var maxBatches = options.MaxBatchesPerJob;
        // A batch size out of range is DataAnnotations' to report; it must not divide by zero here.
        if (options.BatchSize >= 1 && BatchLayout.BatchCount(options.MaxUrls, options.BatchSize) > maxBatches)
        {
            failures.Add($"Crawl:MaxUrls ({options.MaxUrls}) in batches of Crawl:BatchSize ({options.BatchSize}) needs more than "
                + $"{maxBatches} batches (Crawl:BatchesPerShard × {CrawlOptions.MaxShardsPerJob} shards).");
        }

        if (options.MaxPages is { } maxPages && options.BatchSize >= 1 && BatchLayout.BatchCount(maxPages, options.BatchSize) > maxBatches)
        {
            failures.Add($"Crawl:MaxPages ({maxPages}) in batches of Crawl:BatchSize ({options.BatchSize}) needs more than "
                + $"{maxBatches} batches (Crawl:BatchesPerShard × {CrawlOptions.MaxShardsPerJob} shards).");
        }

        if (CrawlJobValidator.UrlListPrefixProblem(options.UrlListPrefix) is { } prefixProblem)
        {
            failures.Add($"Crawl:UrlListPrefix ('{options.UrlListPrefix}') {prefixProblem}");
        }

        foreach (var port in options.AllowedPorts.Where(p => p is < 1 or > 65535))
        {
            failures.Add($"Crawl:AllowedPorts: {port} is not a port (1-65535).");
        }

        if (fetch is not null && fetch.FetchDeadline >= options.BatchDeadline)
        {
            failures.Add($"Fetch:FetchDeadline ({fetch.FetchDeadline}) must be less than Crawl:BatchDeadline ({options.BatchDeadline}), "
                + "or no fetch could finish within a batch.");
        }

        if (fetch is not null && options.LaneBudget + fetch.FetchDeadline > options.BatchDeadline)
        {
            failures.Add($"Crawl:LaneBudget ({options.LaneBudget}) plus Fetch:FetchDeadline ({fetch.FetchDeadline}) must not exceed "
                + $"Crawl:BatchDeadline ({options.BatchDeadline}), or a fetch started just before a lane call's budget could not finish.");
        }

        if (options.MaxCrawlDelay >= options.BatchDeadline)
        {
            failures.Add($"Crawl:MaxCrawlDelay ({options.MaxCrawlDelay}) must be less than Crawl:BatchDeadline ({options.BatchDeadline}), "
                + "or a slowed host could fetch at most one URL per batch.");
        }

        if (options.BatchDeadline + CrawlOptions.ResultWriteMargin > options.FunctionTimeout)
        {
            failures.Add($"Crawl:BatchDeadline ({options.BatchDeadline}) must be at least {CrawlOptions.ResultWriteMargin.TotalSeconds:0} s "
                + $"less than Crawl:FunctionTimeout ({options.FunctionTimeout}), to leave time to write a batch's results.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Invalid Fetch options are reported by their own validation; letting that exception escape from here
    /// would replace every Crawl problem with a second copy of the Fetch ones.</summary>
    private FetchOptions? ValidFetchOptionsOrNull()
    {
        try
        {
            return fetchOptions.Value;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }
}
