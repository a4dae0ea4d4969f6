using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using Grpc.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Intake;

/// <summary>Starts one orchestration per job from the intake queue. The instance id is the job id, so a repeated
/// message (a re-post, a CLI re-enqueue, a redelivery) starts nothing new.</summary>
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
        [QueueTrigger(IntakeQueue.Name)] string message,
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
        if (existing is not null)
        {
            var existingStatus = Enum.GetName(existing.RuntimeStatus) ?? "Unknown";
            _logger.DuplicateIntake(ticket.JobId, existingStatus);
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
            // Two copies of the message raced past the check above: if the other one created the instance, this is
            // a duplicate; otherwise the failure is real and the message is retried.
            var raced = await client.GetInstanceAsync(ticket.JobId, cancellationToken);
            if (raced is null)
            {
                throw;
            }

            var racedStatus = Enum.GetName(raced.RuntimeStatus) ?? "Unknown";
            _logger.DuplicateIntake(ticket.JobId, racedStatus);
        }
    }
}
