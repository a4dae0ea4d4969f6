using FetchFunctions.Core.Orchestration;
using Spectre.Console;

namespace FetchFunctions.Cli;

/// <summary>Claims a job id for <c>crawl</c> or <c>enqueue</c> before anything is stored under it: takes the job's run
/// lease (waiting up to one lease period for the lease of a killed run to lapse) and refuses, as the HTTP API answers
/// 409, when the job is active or completed (<see cref="JobRuns.StartsNewRun"/>). Disposing releases the lease.</summary>
internal sealed class JobClaim(IJobRunStore runs, IAnsiConsole error, TimeProvider timeProvider) : IAsyncDisposable
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromSeconds(1);

    private IJobRunHold? _hold;

    /// <summary>Claims <paramref name="jobId"/>; a generated id (null) is new and needs no claim.</summary>
    public async Task ClaimAsync(string? jobId, CancellationToken cancellationToken)
    {
        if (jobId is null || _hold is not null)
        {
            return;
        }

        // Read first, so that a completed job is refused at once rather than after a wait.
        var prior = await runs.GetPriorRunAsync(jobId, cancellationToken);
        if (prior == PriorRun.Completed)
        {
            throw Refused(jobId, prior);
        }

        var hold = await runs.TryHoldAsync(jobId, cancellationToken);
        if (hold is null)
        {
            error.MarkupLine($"[yellow]Job {Markup.Escape(jobId)} is held by another run; waiting up to {runs.LeasePeriod.TotalSeconds:0} s for its lease to lapse (a killed run's does).[/]");
            var deadline = timeProvider.GetTimestamp();
            while (hold is null && timeProvider.GetElapsedTime(deadline) < runs.LeasePeriod + PollEvery)
            {
                await Task.Delay(PollEvery, timeProvider, cancellationToken);
                hold = await runs.TryHoldAsync(jobId, cancellationToken);
            }
        }

        if (hold is null)
        {
            throw Refused(jobId, PriorRun.Active);
        }

        if (!JobRuns.StartsNewRun(hold.PriorRun))
        {
            await hold.DisposeAsync();
            throw Refused(jobId, hold.PriorRun);
        }

        _hold = hold;
    }

    public async ValueTask DisposeAsync()
    {
        if (_hold is not null)
        {
            await _hold.DisposeAsync();
        }
    }

    private static CliInputException Refused(string jobId, PriorRun state) => new(state switch
    {
        PriorRun.Completed => $"Job '{jobId}' is completed: its summary is stored (fetchfn status {jobId}). Nothing was changed; use another --job-id to run it again.",
        _ => $"Job '{jobId}' is active: another run holds its lease. Nothing was changed.",
    });
}
