using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Orchestration;
using Grpc.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Intake;

/// <summary>Starts one orchestration per job from the intake queue. The instance id is the job id, so a repeated
/// message (a re-post, a CLI re-enqueue, a redelivery) starts nothing new while a run is active or completed; a job
/// whose last run failed or was cancelled runs again (<see cref="JobRuns.StartsNewRun"/>).</summary>
public sealed class IntakeQueueFunction
{
    private readonly ILogger<IntakeQueueFunction> _logger;

    public IntakeQueueFunction(ILogger<IntakeQueueFunction> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    [Function(nameof(StartCrawl))]
    public async Task StartCrawl(
        [QueueTrigger(IntakeQueue.Name, Connection = IntakeQueue.Connection)] string message,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(client);

        var ticket = JobTicket.TryParse(message);
        if (ticket is null)
        {
            // Throwing makes the host retry the message and, after maxDequeueCount, move it to crawl-intake-poison.
            _logger.BadIntakeMessage(message.Length);
            throw new InvalidOperationException("The intake message is not a job ticket.");
        }

        var existing = await client.GetInstanceAsync(ticket.JobId, cancellationToken);
        if (!JobRuns.StartsNewRun(DurableRuns.PriorRunOf(existing)))
        {
            // A local, not an argument: the name is computed only here, where the line is always wanted (CA1873).
            var status = DurableRuns.StatusName(existing!);
            _logger.DuplicateIntake(ticket.JobId, status);
            return;
        }

        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                CrawlFunctionNames.JobOrchestrator,
                ticket,
                new StartOrchestrationOptions { InstanceId = ticket.JobId },
                cancellationToken);
            _logger.OrchestrationScheduled(ticket.JobId);
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            // Two copies of the message raced past the check above: if the other one started the run, this is a
            // duplicate; otherwise the failure is real and the message is retried.
            var raced = await client.GetInstanceAsync(ticket.JobId, cancellationToken);
            if (JobRuns.StartsNewRun(DurableRuns.PriorRunOf(raced)))
            {
                throw;
            }

            var racedStatus = DurableRuns.StatusName(raced!);
            _logger.DuplicateIntake(ticket.JobId, racedStatus);
        }
    }
}
