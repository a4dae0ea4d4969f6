using System.Text.Json.Serialization;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The port the orchestration logic runs against. The Durable adapter implements it over
/// <c>TaskOrchestrationContext</c>; the CLI implements it in-process. Implementations must be deterministic.</summary>
public interface ICrawlOrchestrationContext
{
    string InstanceId { get; }

    /// <summary>The orchestration's replay-safe clock.</summary>
    DateTimeOffset CurrentUtcDateTime { get; }

    /// <summary>A logger that writes nothing during replay.</summary>
    ILogger ReplaySafeLogger { get; }

    Task<TResult> CallActivityAsync<TResult>(string name, object input);

    Task<TResult> CallSubOrchestratorAsync<TResult>(string name, string instanceId, object input);

    void SetCustomStatus(CrawlProgress status);
}

/// <summary>Names shared by the orchestration logic and the hosts that register the functions.</summary>
public static class CrawlFunctionNames
{
    public const string JobOrchestrator = "CrawlJobOrchestrator";
    public const string ShardOrchestrator = "CrawlShardOrchestrator";
    public const string PlanActivity = "PlanCrawl";
    public const string PlanRoundActivity = "PlanRound";
    public const string FetchLaneActivity = "FetchLane";
    public const string WriteSummaryActivity = "WriteSummary";
    public const string MergeShardIndexActivity = "MergeShardIndex";
}

/// <summary>What the activities do; the Functions activities and the in-process runner both call this.</summary>
public interface ICrawlActivities
{
    Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken);

    /// <summary>Plans a round of link discovery (<see cref="RoundTicket"/>): finds its URLs (depth 0: the seeds' sitemaps;
    /// depth d: the links of round d − 1's pages) and lays them out in batches after every batch planned before. A plan
    /// of no URLs ends the job's discovery.</summary>
    Task<CrawlPlan> PlanRoundAsync(RoundTicket round, CancellationToken cancellationToken);

    /// <summary>Fetches a lane's batches from <see cref="LaneWork.FromBatch"/> until its budget, committing each batch as
    /// soon as its URLs are done; <paramref name="committed"/> hears of each batch committed (or read back) at once.</summary>
    Task<LaneProgress> FetchLaneAsync(LaneWork lane, IProgress<BatchStats>? committed, CancellationToken cancellationToken);

    /// <summary>Merges the index parts of a completed shard's batches into the shard's index (WARC store; nothing when
    /// the batches wrote no parts), off the job's fan-in. Returns the lines written.</summary>
    Task<long> MergeShardIndexAsync(ShardIndexWork work, CancellationToken cancellationToken);

    Task<CrawlSummary> WriteSummaryAsync(SummaryWork work, CancellationToken cancellationToken);
}

/// <summary>The plan of a job: counts only, the URL lists are in blob manifests.</summary>
public sealed record CrawlPlan(string JobId, int UrlCount, int DuplicatesRemoved, int BatchCount, int BatchesPerShard, int ShardCount, int MaxBatchesInFlight)
{
    /// <summary>The plan's fingerprint: a hash of everything that shapes its batches and their results (the job's
    /// normalised URLs, its effective settings, the batches per shard), not of when it was submitted. Manifests and
    /// results blobs carry it as metadata, so a run of the same plan keeps them (resume) and another plan does not.</summary>
    public string? PlanId { get; init; }

    /// <summary>The lanes, laid one after another from batch 0: no host of a lane's batches is in any other batch, and they
    /// run one at a time; every later batch is independent. Empty in plans made before lanes (every batch independent).</summary>
    public IReadOnlyList<LaneRun> Lanes { get; init; } = [];

    /// <summary>URLs in each shard's batches, for its progress; empty with one shard.</summary>
    public IReadOnlyList<int> ShardUrlCounts { get; init; } = [];

    /// <summary>The plan's first shard: its batches are numbered from <see cref="FirstBatch"/>, after every batch the job
    /// planned before (a round of discovery; 0 for the seeds). Batch indexes inside the plan (<see cref="Lanes"/>,
    /// <see cref="BatchCount"/>) count from there.</summary>
    public int FirstShard { get; init; }

    /// <summary>The depth of the plan's pages: 0 for the seeds and their sitemaps' URLs, d for round d of discovery.</summary>
    public int Depth { get; init; }

    /// <summary>The job's maxDepth when it discovers links (the seeds' plan says so; null: it fetches its URLs only).</summary>
    public int? MaxDepth { get; init; }

    /// <summary>Whether the job reads its seeds' sitemaps (the seeds' plan says so).</summary>
    public bool FollowSitemaps { get; init; }

    [JsonIgnore]
    public int FirstBatch => FirstShard * BatchesPerShard;

    /// <summary>The first shard after this plan's: where the next round's batches start.</summary>
    [JsonIgnore]
    public int EndShard => FirstShard + ShardCount;
}

/// <summary>Input of the round planning activity: round <see cref="Depth"/> of job <see cref="JobId"/>, whose URLs are
/// found on the pages of batches [<see cref="PreviousFirstBatch"/>, + <see cref="PreviousBatchCount"/>) (the round one
/// level up; unused for depth 0, the sitemaps' round) and laid out from shard <see cref="FirstShard"/>.
/// <see cref="SeedPlanId"/> is the seeds' plan, which every round's plan id includes.</summary>
public sealed record RoundTicket(string JobId, int Depth, int PreviousFirstBatch, int PreviousBatchCount, int FirstShard, string? SeedPlanId);

/// <summary><see cref="Count"/> consecutive lanes of <see cref="Length"/> batches each. Lanes are described by runs so
/// that a plan stays small in orchestration history however many hosts a job has.</summary>
public sealed record LaneRun(int Length, int Count);

/// <summary>A shard of a job, run as its own (sub-)orchestration so that no history exceeds the cap. It carries the
/// planned batches per shard, which say where its batches start and which manifest holds them.</summary>
public sealed record ShardWork(string JobId, int ShardIndex, int BatchesPerShard, int BatchCount, int MaxBatchesInFlight)
{
    /// <summary>The index of the shard's first batch.</summary>
    public int FirstBatch => ShardIndex * BatchesPerShard + Skipped;

    /// <summary>Batches at the start of the shard's manifest that the shard before runs, finishing a lane it started
    /// (see <see cref="BatchLayout.ShardRanges"/>); <see cref="BatchCount"/> may likewise reach into the next manifest.</summary>
    public int Skipped { get; init; }

    /// <summary>URLs in the shard's batches, for its progress.</summary>
    public int UrlCount { get; init; }

    /// <summary>The plan the shard belongs to (<see cref="CrawlPlan.PlanId"/>).</summary>
    public string? PlanId { get; init; }

    /// <summary>The depth of the shard's pages (see <see cref="CrawlPlan.Depth"/>).</summary>
    public int Depth { get; init; }

    /// <summary>The lanes within the shard, laid from its first batch (see <see cref="CrawlPlan.Lanes"/>); the first may
    /// continue a lane of the shard before (a lane too long for one shard), which the job orchestration then never runs at
    /// the same time.</summary>
    public IReadOnlyList<LaneRun> Lanes { get; init; } = [];
}

/// <summary>One call of a lane: fetch batches [<see cref="FromBatch"/>, <see cref="FirstBatch"/> + <see cref="BatchCount"/>)
/// until the call's budget. A lane is consecutive batches whose hosts are in no other batch (an independent batch is a
/// lane of one); the batches' URLs are in shard manifest blobs, which the planned batches per shard name.</summary>
public sealed record LaneWork(string JobId, int FirstBatch, int BatchCount, int FromBatch, int BatchesPerShard, string? PlanId)
{
    /// <summary>One past the lane's last batch.</summary>
    [JsonIgnore]
    public int EndBatch => FirstBatch + BatchCount;

    /// <summary>The depth of the lane's pages (see <see cref="CrawlPlan.Depth"/>): what their links' depth is counted from.</summary>
    public int Depth { get; init; }
}

/// <summary>What one lane call did: the merged statistics of the batches it committed (or read back: results of the same
/// plan are never fetched again), and the lane's cursor, the first batch not yet committed (every batch before it is).</summary>
public sealed record LaneProgress(BatchStats Stats, int NextBatch);

/// <summary>Input of the shard index activity: the batches [<see cref="FirstBatch"/>, <see cref="FirstBatch"/> +
/// <see cref="BatchCount"/>) a shard ran.</summary>
public sealed record ShardIndexWork(string JobId, int ShardIndex, int FirstBatch, int BatchCount);

/// <summary>Input of the summary activity, with the duplicates intake removed as planned (so the summary need not read
/// the job again).</summary>
public sealed record SummaryWork(string JobId, BatchStats Totals, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, int DuplicatesRemoved);

/// <summary>Custom status: progress of a job. <see cref="UrlsTotal"/> counts the URLs planned so far: with link discovery
/// it grows round by round, by <see cref="Discovered"/> in all, while <see cref="Depth"/> is the round being fetched.</summary>
public sealed record CrawlProgress(int BatchesDone, int BatchesTotal, long UrlsDone, long UrlsTotal, long Bytes)
{
    /// <summary>The depth of the pages being fetched (0: the seeds).</summary>
    public int Depth { get; init; }

    /// <summary>URLs planned beyond the job's own: found by link discovery or in sitemaps.</summary>
    public long Discovered { get; init; }
}

/// <summary>Runs a whole job in this process through the same orchestration logic the Durable orchestrator runs
/// (used by the CLI and the benchmark).</summary>
public interface ICrawlRunner
{
    Task<CrawlSummary> RunAsync(JobTicket ticket, IProgress<CrawlProgress>? progress, CancellationToken cancellationToken);
}
