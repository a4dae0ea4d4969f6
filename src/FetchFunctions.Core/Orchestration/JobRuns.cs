using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Orchestration;

/// <summary>What the orchestration store holds under a job's id, in the terms the rules below need.</summary>
public enum PriorRun
{
    /// <summary>No orchestration has this id.</summary>
    None,

    /// <summary>Pending, running or suspended.</summary>
    Active,

    Completed,

    Failed,

    /// <summary>Ended by a cancel request.</summary>
    Terminated,
}

/// <summary>Rules about a job id and its runs, applied by the Functions app at its edges (HTTP and the intake queue).</summary>
public static class JobRuns
{
    /// <summary>Whether <paramref name="id"/> can name a job. Shard sub-orchestration ids
    /// (<see cref="CrawlOrchestration.ShardInstanceId"/>) cannot, so the HTTP API never reads or terminates a shard alone.</summary>
    public static bool IsJobId(string? id) => CrawlJobValidator.IsValidJobId(id);

    /// <summary>Whether a job submitted or dequeued under an id with this prior run is stored and started: a new id, or
    /// one whose last run failed or was cancelled. A run in progress or completed is never replaced, because its stored
    /// job is what it runs and reports on; for it a repeated submission or intake message starts nothing.</summary>
    public static bool StartsNewRun(PriorRun prior) => prior is PriorRun.None or PriorRun.Failed or PriorRun.Terminated;
}
