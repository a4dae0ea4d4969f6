using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Orchestration;

/// <summary>Runs a job in this process through the same orchestration logic the Durable orchestrators run: the port calls
/// the activities directly (on the thread pool, so a window of batches really runs in parallel) and shards as nested
/// runs of the shard logic. Progress is reported after every batch. Cancelling the token stops every activity in
/// flight and the run throws <see cref="OperationCanceledException"/>; nothing keeps running after it returns.</summary>
internal sealed class InProcessCrawlRunner(ICrawlActivities activities, TimeProvider timeProvider, ILogger<InProcessCrawlRunner> logger) : ICrawlRunner
{
    private TimeProvider Time => timeProvider;

    private ILogger Logger => logger;

    public async Task<CrawlSummary> RunAsync(JobTicket ticket, IProgress<CrawlProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        cancellationToken.ThrowIfCancellationRequested();
        // The job's span: plan, batches and summary are its children (the Functions app has Durable's spans instead).
        using var activity = CrawlTelemetry.StartJob(ticket.JobId);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var state = new RunState(progress);
        try
        {
            var summary = await CrawlOrchestration.RunJobAsync(new Context(ticket.JobId, this, state, isJob: true, run.Token), ticket).ConfigureAwait(false);
            CrawlTelemetry.JobDone(activity, summary);
            return summary;
        }
        catch (Exception ex) when (CrawlTelemetry.Failed(activity, ex))
        {
            throw;
        }
        finally
        {
            // A failed batch fails the run while others are still fetching: stop them and wait until they have.
            await run.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(state.Calls()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<object> InvokeAsync(string name, string instanceId, object input, RunState state, CancellationToken cancellationToken)
    {
        // Off the caller's thread: the orchestration logic starts a whole window of calls before it awaits any.
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        switch (name, input)
        {
            case (CrawlFunctionNames.PlanActivity, JobTicket ticket):
                var plan = await activities.PlanAsync(ticket, cancellationToken).ConfigureAwait(false);
                return plan;
            case (CrawlFunctionNames.PlanRoundActivity, RoundTicket round):
                return await activities.PlanRoundAsync(round, cancellationToken).ConfigureAwait(false);
            case (CrawlFunctionNames.FetchLaneActivity, LaneWork lane):
                // Progress per batch committed, not per lane call: a call may run for its whole budget.
                return await activities.FetchLaneAsync(lane, state, cancellationToken).ConfigureAwait(false);
            case (CrawlFunctionNames.MergeShardIndexActivity, ShardIndexWork shardIndex):
                return await activities.MergeShardIndexAsync(shardIndex, cancellationToken).ConfigureAwait(false);
            case (CrawlFunctionNames.WriteSummaryActivity, SummaryWork work):
                return await activities.WriteSummaryAsync(work, cancellationToken).ConfigureAwait(false);
            case (CrawlFunctionNames.ShardOrchestrator, ShardWork shard):
                return await CrawlOrchestration.RunShardAsync(new Context(instanceId, this, state, isJob: false, cancellationToken), shard).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"Nothing named '{name}' takes a {input.GetType().Name}.");
        }
    }

    /// <summary>What one run shares across its orchestration contexts: the calls it started and the progress so far.</summary>
    private sealed class RunState(IProgress<CrawlProgress>? progress) : IProgress<BatchStats>
    {
        private readonly Lock _lock = new();
        private readonly List<Task> _calls = [];
        private CrawlProgress _progress = new(0, 0, 0, 0, 0);

        public Task<T> Track<T>(Task<T> call)
        {
            lock (_lock)
            {
                _calls.Add(call);
            }

            return call;
        }

        public Task[] Calls()
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }

        /// <summary>The orchestration's status, which alone knows the totals planned so far (they grow round by round);
        /// the counts done come from the batches as they commit.</summary>
        public void Status(CrawlProgress status)
        {
            lock (_lock)
            {
                if ((_progress.BatchesTotal, _progress.UrlsTotal, _progress.Depth, _progress.Discovered)
                    == (status.BatchesTotal, status.UrlsTotal, status.Depth, status.Discovered))
                {
                    // Only what was planned is taken from the status: a status that plans nothing new reports nothing.
                    return;
                }

                Report(p => p with
                {
                    BatchesTotal = status.BatchesTotal,
                    UrlsTotal = status.UrlsTotal,
                    Depth = status.Depth,
                    Discovered = status.Discovered,
                });
            }
        }

        public void Report(BatchStats value) => Report(p => p with
        {
            BatchesDone = p.BatchesDone + value.Batches,
            UrlsDone = p.UrlsDone + value.Urls,
            Bytes = p.Bytes + value.Bytes,
        });

        private void Report(Func<CrawlProgress, CrawlProgress> update)
        {
            // Under the lock, so reports arrive in order and never go backwards.
            lock (_lock)
            {
                _progress = update(_progress);
                progress?.Report(_progress);
            }
        }
    }

    private sealed class Context(string instanceId, InProcessCrawlRunner runner, RunState state, bool isJob, CancellationToken cancellationToken)
        : ICrawlOrchestrationContext
    {
        public string InstanceId => instanceId;

        public DateTimeOffset CurrentUtcDateTime => runner.Time.GetUtcNow();

        // Nothing is replayed in process, so every log line is real.
        public ILogger ReplaySafeLogger => runner.Logger;

        public Task<TResult> CallActivityAsync<TResult>(string name, object input) => Call<TResult>(name, instanceId, input);

        public Task<TResult> CallSubOrchestratorAsync<TResult>(string name, string instanceId, object input) => Call<TResult>(name, instanceId, input);

        // Done counts reach the caller per batch committed (RunState); the totals planned come from the job's status.
        public void SetCustomStatus(CrawlProgress status)
        {
            if (isJob)
            {
                state.Status(status);
            }
        }

        private Task<TResult> Call<TResult>(string name, string callInstanceId, object input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return state.Track(CastAsync<TResult>(runner.InvokeAsync(name, callInstanceId, input, state, cancellationToken)));
        }

        private static async Task<TResult> CastAsync<TResult>(Task<object> call) => (TResult)await call.ConfigureAwait(false);
    }
}
