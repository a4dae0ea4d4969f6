using System.Net;
using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Security;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Telemetry;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The activities of a crawl job. Each is idempotent: a retry rewrites the same blobs whole.</summary>
internal sealed class CrawlActivities(
    CrawlPlanner planner,
    LaneActivity lanes,
    SummaryWriter summaries,
    CdxjIndexMerger indexMerger,
    JobStore store,
    Frontier frontier,
    SitemapHarvester sitemaps) : ICrawlActivities
{
    public Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken) =>
        CrawlTelemetry.TraceAsync(CrawlTelemetry.PlanSpan, ticket?.JobId ?? string.Empty, () => planner.PlanAsync(ticket!, cancellationToken));

    /// <summary>Finds a round's URLs (depth 0: the seeds' sitemaps; else the frontier's next round from the link logs of
    /// the round before), then lays them out. Both steps read back what a previous call of the same round stored.</summary>
    public Task<CrawlPlan> PlanRoundAsync(RoundTicket round, CancellationToken cancellationToken) =>
        CrawlTelemetry.TraceAsync(CrawlTelemetry.PlanSpan, round?.JobId ?? string.Empty, async () =>
        {
            var job = await store.ReadJobAsync(BlobNames.Job(round!.JobId), cancellationToken).ConfigureAwait(false);
            var stats = round.Depth == 0
                ? await sitemaps.HarvestAsync(job, cancellationToken).ConfigureAwait(false)
                : await frontier.PlanNextRoundAsync(job, new RoundWork(job.JobId, round.Depth - 1, round.PreviousFirstBatch, round.PreviousBatchCount),
                    cancellationToken).ConfigureAwait(false);
            if (stats.Planned == 0)
            {
                return new CrawlPlan(job.JobId, 0, 0, 0, Math.Max(1, job.Settings.MaxBatchesInFlight), 0, job.Settings.MaxBatchesInFlight)
                {
                    FirstShard = round.FirstShard,
                    Depth = round.Depth,
                };
            }

            return await planner.PlanRoundAsync(job, round, FrontierBlobNames.Round(job.JobId, round.Depth), stats.Planned, cancellationToken)
                .ConfigureAwait(false);
        });

    public Task<LaneProgress> FetchLaneAsync(LaneWork lane, IProgress<BatchStats>? committed, CancellationToken cancellationToken) =>
        lanes.RunAsync(lane, committed, cancellationToken);

    public Task<long> MergeShardIndexAsync(ShardIndexWork work, CancellationToken cancellationToken) =>
        indexMerger.MergeShardAsync(work, cancellationToken);

    /// <summary>Merges the batches' index parts into the job's index (WARC store), then writes the summary, with the
    /// rounds' counts when the job discovers links.</summary>
    public Task<CrawlSummary> WriteSummaryAsync(SummaryWork work, CancellationToken cancellationToken) =>
        CrawlTelemetry.TraceAsync(CrawlTelemetry.SummarySpan, work?.JobId ?? string.Empty, async () =>
        {
            await indexMerger.MergeAsync(work!.JobId, cancellationToken).ConfigureAwait(false);
            var job = await store.ReadJobAsync(BlobNames.Job(work.JobId), cancellationToken).ConfigureAwait(false);
            DiscoverySummary? discovery = null;
            if (job.Settings.Discovery is { } settings)
            {
                var rounds = new List<RoundStats>();
                for (var depth = 0; depth <= settings.MaxDepth; depth++)
                {
                    if (await frontier.ReadStatsAsync(job.JobId, depth, cancellationToken).ConfigureAwait(false) is { } round)
                    {
                        rounds.Add(round);
                    }
                }

                discovery = DiscoverySummary.From(job.UrlCount, rounds);
            }

            return await summaries.WriteAsync(work, discovery, cancellationToken).ConfigureAwait(false);
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
