using FetchFunctions.Core.Validation;
using System.ComponentModel.DataAnnotations;

namespace FetchFunctions.Core.Jobs;

/// <summary>The operator's job settings, bound from the <c>Crawl</c> configuration section and validated at start-up
/// (attributes here, cross-field rules in <see cref="CrawlOptionsValidator"/>). They are defaults and upper bounds:
/// a job may tighten them, never loosen them.</summary>
internal sealed class CrawlOptions
{
    public const string SectionName = "Crawl";

    /// <summary>Activity and sub-orchestration calls one orchestration may schedule; its history grows with each one.</summary>
    public const int MaxCallsPerOrchestration = 1000;

    /// <summary>Lane calls one shard may schedule: its last call merges its index.</summary>
    public const int MaxLaneCallsPerShard = MaxCallsPerOrchestration - 1;

    /// <summary>Shards one job may have: the job orchestration also calls the plan and the summary activities.</summary>
    public const int MaxShardsPerJob = MaxCallsPerOrchestration - 2;

    /// <summary>URLs one job may have (after duplicates are removed). Default 10,000,000, also the most allowed: intake
    /// and planning keep their memory bounded whatever the job's size (see docs/performance.md), and 10,000,000 URLs in
    /// batches of 50, laid out with lanes (at most twice ⌈n/B⌉ batches), fit <see cref="MaxShardsPerJob"/> shards of 500.</summary>
    [Range(1, 10_000_000)]
    public int MaxUrls { get; set; } = 10_000_000;

    /// <summary>URLs the planner holds in memory at once. Jobs up to this size are read once and planned in memory. A
    /// bigger one is read twice (hosts counted by hash, then each URL spilled with its place in the manifests to a blob per
    /// group of shards of about this many URLs, under <c>{jobId}/plan/</c>, deleted after planning), and the groups are
    /// placed one at a time, so the plan activity's memory depends on this and on the job's hosts (a few dozen bytes
    /// each), not on its URLs: about 175-320 MB at the default 1,000,000 (docs/performance.md). It also sets the host-hash
    /// partitions the hosts are ordered by (⌈n / this⌉, at most 64). Default 1,000,000.</summary>
    [Range(1, 10_000_000)]
    public int PlanPartitionUrls { get; set; } = 1_000_000;

    /// <summary>URLs a job may list inline in its request; bigger jobs reference a URL list blob. Default 10,000.</summary>
    [Range(1, 100_000)]
    public int MaxInlineUrls { get; set; } = 10_000;

    /// <summary>Longest URL accepted, before and after normalisation. Default 2,048 characters.</summary>
    [Range(16, 8192)]
    public int MaxUrlLength { get; set; } = 2048;

    /// <summary>The only place a job's <c>urlListBlob</c> may name a blob: users upload URL lists under this prefix of the
    /// crawl container, and a job can read nothing else (not another job's blobs). Default <c>_uploads/</c>: its first
    /// segment is no valid job id, so no job's folder lies under it. Must end with '/'.</summary>
    [Required]
    [StringLength(256, MinimumLength = 2)]
    public string UrlListPrefix { get; set; } = "_uploads/";
    /// <summary>Largest request body <c>POST /api/crawls</c> reads; a bigger one is answered 413 without being read. Default
    /// 24 MiB (25,165,824 bytes): room for <see cref="MaxInlineUrls"/> URLs of <see cref="MaxUrlLength"/> characters each,
    /// quoted and comma-separated, plus <see cref="RequestBodyRoomForOptions"/>, which the validator requires at least.
    /// At most 30,000,000, the default body limit of the worker's web server (Kestrel). Bigger lists go through a URL
    /// list blob.</summary>
    [Range(1024, 30_000_000)]
    public int MaxRequestBodyBytes { get; set; } = 24 * 1024 * 1024;

    /// <summary>Bytes a request body may hold beside its URLs (job id, options, headers, whitespace).</summary>
    public const int RequestBodyRoomForOptions = 64 * 1024;

    /// <summary>The smallest <see cref="MaxRequestBodyBytes"/> that fits a job of <see cref="MaxInlineUrls"/> URLs of
    /// <see cref="MaxUrlLength"/> ASCII characters each (two quotes and a comma per URL) and its options.</summary>
    internal long MinRequestBodyBytes => (long)MaxInlineUrls * (MaxUrlLength + 3) + RequestBodyRoomForOptions;

    /// <summary>Ports URLs may name (explicitly or by their scheme's default). Empty (the default) allows every port 1-65535:
    /// the SSRF guard, not the port, is what keeps fetches off internal services.</summary>
    public List<int> AllowedPorts { get; set; } = [];

    /// <summary>URLs per batch (one activity call) when the job does not say. Default 50.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 50;

    /// <summary>Largest batch a job may ask for. Default 500; a batch must finish within <see cref="BatchDeadline"/>.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>Lane calls of one job in flight at once (the fan-out window; an independent batch is a lane of one),
    /// default and upper bound. Default 8. Together with <see cref="MaxConcurrency"/> it bounds a job's parallel fetches.</summary>
    [Range(1, 256)]
    public int MaxBatchesInFlight { get; set; } = 8;

    /// <summary>Fetches in flight within one lane call, default and upper bound. Default 16.
    /// A job fetches at most <see cref="MaxBatchesInFlight"/> times this in parallel.</summary>
    [Range(1, 1024)]
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>Fetches of one host in flight, default and upper bound. Default 4. It holds for the whole job: the planner
    /// puts a host in one batch or in one lane of batches, and a lane has at most one call in flight, whose host queues
    /// hold the limit across all the batches it has open.</summary>
    [Range(1, 1024)]
    public int MaxConcurrencyPerHost { get; set; } = 4;

    /// <summary>Least time between the starts of two fetches of one host, for the whole job (a batch also waits it before
    /// a host's first fetch); a job may only ask for more. Default zero.</summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan PerHostDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Whether robots.txt (RFC 9309) is read and obeyed: once per origin per job, kept with the job. Default true;
    /// only the operator may turn it off, a job may not.</summary>
    public bool RespectRobotsTxt { get; set; } = true;

    /// <summary>The most a site's robots.txt <c>Crawl-delay</c>, or the back-off after repeated 429/503 answers, may raise
    /// the least time between two request starts of one host. Default 10 s.</summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan MaxCrawlDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Batches per shard. A job with more batches runs them as shards, each its own sub-orchestration, so that no
    /// orchestration schedules more than <see cref="MaxCallsPerOrchestration"/> calls. Default 500 (which also keeps each
    /// history small).</summary>
    [Range(1, MaxShardsPerJob)]
    public int BatchesPerShard { get; set; } = 500;

    /// <summary>Batches one job may have: <see cref="BatchesPerShard"/> × <see cref="MaxShardsPerJob"/>.</summary>
    internal long MaxBatchesPerJob => (long)BatchesPerShard * MaxShardsPerJob;

    /// <summary>Failed URLs listed (with reasons) in summary.json; the counts always cover all of them. Default 1,000.</summary>
    [Range(0, 100_000)]
    public int MaxFailedUrlsInSummary { get; set; } = 1000;

    /// <summary>When a lane call (activity) stops fetching, counted from its start: no fetch starts after it, fetches still
    /// running are stopped, and both are reported as timeouts. Default 8 minutes; at least <see cref="LaneBudget"/> plus
    /// Fetch:FetchDeadline, and at least 30 s less than <see cref="FunctionTimeout"/>, which leaves time to commit.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan BatchDeadline { get; set; } = TimeSpan.FromMinutes(8);

    /// <summary>When a lane call stops opening batches, counted from its start: it then lets the batches it opened finish
    /// (each fetch still bounded by <see cref="BatchDeadline"/>), commits them and returns its cursor, and the orchestration
    /// calls the lane again from there. So orchestration history grows by one call per budget, not per batch. Default
    /// 5 minutes; at most <see cref="BatchDeadline"/> − Fetch:FetchDeadline, so a fetch started just before the budget can
    /// still finish.</summary>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan LaneBudget { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Batches one lane call keeps open (started, not yet committed). A batch is committed as soon as all its URLs
    /// are done, so a slow URL holds only its own batch open while later batches of the lane run and commit; this bounds
    /// the URLs and results a call holds in memory, and what a crash fetches again. Default 16.</summary>
    [Range(1, 256)]
    public int LaneBatchesOpen { get; set; } = 16;

    /// <summary>The host's function timeout (host.json <c>functionTimeout</c>). Default 10 minutes, the Consumption plan's limit.</summary>
    [TimeSpanRange("00:00:31", "1.00:00:00")]
    public TimeSpan FunctionTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Pages one job with link discovery may fetch, seeds included: the default and upper bound of a job's
    /// <c>crawl.maxPages</c>. Default: <see cref="MaxUrls"/> (1,000,000), so a deployment that lowered that needs no
    /// new setting.</summary>
    [Range(1, 10_000_000)]
    public int? MaxPages { get; set; }

    /// <summary><see cref="MaxPages"/>, or <see cref="MaxUrls"/> when it is not set.</summary>
    internal int EffectiveMaxPages => MaxPages ?? MaxUrls;

    /// <summary>The deepest a job's <c>crawl.maxDepth</c> may reach (links followed from a seed). Default 10; each depth
    /// is one round of planning and fetching.</summary>
    [Range(0, 100)]
    public int MaxDepth { get; set; } = 10;

    /// <summary>Bytes of an HTML page kept as it streams by, from which its links are read once the body ends; links
    /// further down a bigger page are not seen. Default 2 MiB (2,097,152 bytes).</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int LinkParseBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Where a job's bodies go unless the job says: <c>warc</c> (the default: WARC/1.1 files per batch under
    /// <c>{jobId}/warc/</c> with a CDXJ index, one storage write per few MiB of records) or <c>blobs</c> (one blob per body
    /// under <c>{jobId}/bodies/</c>). See docs/storage-format.md.</summary>
    [Required]
    [RegularExpression("^(warc|blobs)$", ErrorMessage = "Crawl:Store must be 'warc' or 'blobs'.")]
    public string Store { get; set; } = StoreKinds.Warc;

    /// <summary>Size at which a batch's WARC file rolls over to its next serial: a record that would take the file past it
    /// starts the next one (a single bigger record gets a file to itself). Default 1,000,000,000 bytes, the WARC
    /// specification's and Heritrix's size; between 1 MiB and 50 GB (a block blob holds 50,000 blocks).</summary>
    [Range(1024L * 1024, 50_000_000_000L)]
    public long WarcFileBytes { get; set; } = 1_000_000_000;

    /// <summary>Time a lane call keeps after <see cref="BatchDeadline"/> to commit its batches.</summary>
    public static readonly TimeSpan ResultWriteMargin = TimeSpan.FromSeconds(30);
}
