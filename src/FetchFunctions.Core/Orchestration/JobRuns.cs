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

/// <summary>Rules about a job id and its runs, applied by the Functions app at its edges (HTTP and the intake queue) and by
/// the CLI's crawl and enqueue (with the prior run read by <see cref="IJobRunStore"/>).</summary>
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

/// <summary>A job's runs as its blobs tell them, for hosts without an orchestration store (the CLI). A run in
/// progress holds the job's run lease (<c>{jobId}/run.lease</c>, renewed while it runs); a killed process's lease
/// lapses within <see cref="LeasePeriod"/>. A run inside the Functions app is known to its Durable store, not here.</summary>
public interface IJobRunStore
{
    /// <summary>How long a run lease outlives the process that stopped renewing it.</summary>
    TimeSpan LeasePeriod { get; }

    /// <summary><see cref="PriorRun.None"/> when no job is stored under the id, <see cref="PriorRun.Active"/> while a
    /// run lease is held, <see cref="PriorRun.Completed"/> when the job's summary is stored, otherwise
    /// <see cref="PriorRun.Failed"/> (interrupted or failed: a new run resumes it or, for a changed job, starts over).</summary>
    Task<PriorRun> GetPriorRunAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Takes the job's run lease and renews it until the hold is disposed; null when another run holds it.</summary>
    Task<IJobRunHold?> TryHoldAsync(string jobId, CancellationToken cancellationToken);
}

/// <summary>A held run lease. Disposing it releases the lease (and removes the lease blob when no job was stored).</summary>
public interface IJobRunHold : IAsyncDisposable
{
    /// <summary>The job's prior run as its blobs tell it, the lease aside (taken after the lease, so no other run can
    /// change it meanwhile): never <see cref="PriorRun.Active"/>.</summary>
    PriorRun PriorRun { get; }
}
