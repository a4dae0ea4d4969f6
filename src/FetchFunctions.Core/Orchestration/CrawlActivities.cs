using System.Buffers;
using System.Net;
using System.Text.Json;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Security;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Telemetry;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The activities of a crawl job. Each is idempotent: a retry rewrites the same blobs whole.</summary>
internal sealed partial class CrawlActivities(
    CrawlPlanner planner,
    BatchFetcher fetcher,
    SummaryWriter summaries,
    JobStore store,
    IOptions<FetchOptions> fetchOptions,
    IOptions<CrawlOptions> crawlOptions,
    TimeProvider timeProvider,
    ILogger<CrawlActivities> logger,
    JobHosts jobHosts,
    CrawlTelemetry telemetry,
    WarcStore warcStore,
    CdxjIndexMerger indexMerger) : ICrawlActivities
{
    public Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken) =>
        CrawlTelemetry.TraceAsync(CrawlTelemetry.PlanSpan, ticket?.JobId ?? string.Empty, () => planner.PlanAsync(ticket!, cancellationToken));

    /// <summary>Fetches the batch's URLs and writes its results blob, one line per URL in manifest order. The batch stops
    /// at Crawl:BatchDeadline (counted from the activity's start), so the activity ends within the function timeout.
    /// Results already stored for the same plan are read back instead (a resumed run, a retried activity).</summary>
    public async Task<BatchStats> FetchBatchAsync(BatchWork batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var activity = CrawlTelemetry.StartBatch(batch);
        if (batch.PlanId is { } planId
            && await store.ReadBatchResultsAsync(batch.JobId, batch.BatchIndex, planId, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            LogBatchKept(logger, batch.JobId, batch.BatchIndex, stored.Count);
            CrawlTelemetry.BatchKept(activity);
            return BatchStatsBuilder.From(stored);
        }

        var startedAt = timeProvider.GetTimestamp();
        var crawl = crawlOptions.Value;
        var job = await store.ReadJobAsync(BlobNames.Job(batch.JobId), cancellationToken).ConfigureAwait(false);
        var manifest = await store.ReadBatchManifestAsync(batch.JobId, batch.BatchIndex, batch.BatchesPerShard, batch.PlanId, cancellationToken).ConfigureAwait(false);
        var settings = job.Settings;
        var limits = new BatchLimits(
            Math.Min(settings.MaxConcurrency, crawl.MaxConcurrency),
            Math.Min(settings.MaxConcurrencyPerHost, crawl.MaxConcurrencyPerHost),
            settings.PerHostDelay > crawl.PerHostDelay ? settings.PerHostDelay : crawl.PerHostDelay,
            TimeSpan.FromTicks(Math.Max(0, (crawl.BatchDeadline - timeProvider.GetElapsedTime(startedAt)).Ticks)));
        // robots.txt and back-off state per origin, kept with the job: every batch and retry obeys the same rules.
        var policy = PolicyFor(settings, fetchOptions.Value);
        var hosts = jobHosts.Open(batch.JobId, policy, limits.MaxConcurrencyPerHost);
        // The WARC store's commit unit is the batch: its files, then its index part, then (below) its results.
        await using var records = settings.EffectiveStore == StoreKinds.Warc ? warcStore.Open(job, batch.BatchIndex, policy) : null;
        var results = await fetcher.FetchAsync(batch.JobId, manifest.Urls, policy, limits, hosts, records, cancellationToken).ConfigureAwait(false);
        if (records is not null)
        {
            await records.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        await store.UploadAsync(BlobNames.BatchResults(batch.JobId, batch.BatchIndex), Ndjson(results), JobStore.NdjsonContentType, batch.PlanId, cancellationToken)
            .ConfigureAwait(false);
        await hosts.SaveAsync(cancellationToken).ConfigureAwait(false);
        var stats = BatchStatsBuilder.From(results, hosts.SlowedHosts());
        var elapsed = timeProvider.GetElapsedTime(startedAt);
        telemetry.BatchDone(activity, stats, elapsed);
        LogBatchDone(logger, batch.JobId, batch.BatchIndex, stats.Urls, stats.Failed, elapsed.TotalMilliseconds);
        return stats;
    }

    /// <summary>Merges the batches' index parts into the job's index (WARC store), then writes the summary.</summary>
    public Task<CrawlSummary> WriteSummaryAsync(SummaryWork work, CancellationToken cancellationToken) =>
        CrawlTelemetry.TraceAsync(CrawlTelemetry.SummarySpan, work?.JobId ?? string.Empty, async () =>
        {
            await indexMerger.MergeAsync(work!.JobId, cancellationToken).ConfigureAwait(false);
            return await summaries.WriteAsync(work, cancellationToken).ConfigureAwait(false);
        });

    /// <summary>The effective fetch policy of a job: the operator's current settings, tightened by the job's. Taking the
    /// smaller value again here means an operator who lowers a limit after a job was accepted is obeyed.</summary>
    internal static FetchPolicy PolicyFor(JobSettings settings, FetchOptions options)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var policy = FetchPolicy.FromOptions(options);
        var operatorNetworks = policy.AddressPolicy.AllowedNetworks;
        var networks = settings.AllowedNetworks
            .Select(IPNetwork.Parse)
            .Where(network => operatorNetworks.Any(allowed => CrawlJobValidator.Contains(allowed, network)))
            .ToArray();
        return policy with
        {
            MaxRetries = Math.Min(settings.MaxRetries, policy.MaxRetries),
            AttemptTimeout = settings.AttemptTimeout < policy.AttemptTimeout ? settings.AttemptTimeout : policy.AttemptTimeout,
            TotalTimeout = settings.TotalTimeout < policy.TotalTimeout ? settings.TotalTimeout : policy.TotalTimeout,
            FetchDeadline = settings.FetchDeadline < policy.FetchDeadline ? settings.FetchDeadline.Value : policy.FetchDeadline,
            MaxBodyBytes = Math.Min(settings.MaxBodyBytes, policy.MaxBodyBytes),
            MaxRedirects = Math.Min(settings.MaxRedirects, policy.MaxRedirects),
            UserAgent = settings.UserAgent,
            Headers = settings.Headers,
            StoreStatuses = StatusSet.Parse(settings.StoreStatuses),
            AddressPolicy = new AddressPolicy(networks),
        };
    }

    private static BinaryData Ndjson(IEnumerable<UrlResult> results)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            foreach (var result in results)
            {
                JsonSerializer.Serialize(json, result, CrawlJsonContext.Default.UrlResult);
                json.Flush();
                buffer.Write("\n"u8);
                json.Reset();
            }
        }

        return BinaryData.FromBytes(buffer.WrittenMemory);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} batch {BatchIndex}: {Urls} results of the same plan already stored, not fetched again")]
    private static partial void LogBatchKept(ILogger logger, string jobId, int batchIndex, int urls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} batch {BatchIndex}: {Urls} URLs, {Failed} failed, {ElapsedMs:0} ms")]
    private static partial void LogBatchDone(ILogger logger, string jobId, int batchIndex, long urls, long failed, double elapsedMs);
}
