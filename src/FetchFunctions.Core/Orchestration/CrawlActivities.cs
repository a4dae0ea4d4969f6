using System.Net;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Security;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Telemetry;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The activities of a crawl job. Each is idempotent: a retry rewrites the same blobs whole.</summary>
internal sealed class CrawlActivities(
    CrawlPlanner planner,
    LaneActivity lanes,
    SummaryWriter summaries,
    CdxjIndexMerger indexMerger) : ICrawlActivities
{
    public Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken) =>
        CrawlTelemetry.TraceAsync(CrawlTelemetry.PlanSpan, ticket?.JobId ?? string.Empty, () => planner.PlanAsync(ticket!, cancellationToken));

    public Task<LaneProgress> FetchLaneAsync(LaneWork lane, IProgress<BatchStats>? committed, CancellationToken cancellationToken) =>
        lanes.RunAsync(lane, committed, cancellationToken);

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
}
