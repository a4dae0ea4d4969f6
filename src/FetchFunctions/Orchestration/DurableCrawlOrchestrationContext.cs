using FetchFunctions.Core.Orchestration;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Orchestration;

/// <summary>Core's orchestration port over Durable Functions' <see cref="TaskOrchestrationContext"/>. Deterministic:
/// it only forwards to the context, which records every call in the orchestration history.</summary>
internal sealed class DurableCrawlOrchestrationContext : ICrawlOrchestrationContext
{
    /// <summary>Retries of an activity that failed as a whole (storage unavailable, worker lost). Failed URLs are
    /// results, not failures: each URL already had Fetch:MaxRetries HTTP retries inside the activity, so three attempts
    /// with backoff (5 s, 10 s) suffice; every attempt rewrites the same blobs, so a retry is idempotent.</summary>
    private static readonly TaskOptions ActivityOptions = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 3,
        firstRetryInterval: TimeSpan.FromSeconds(5),
        backoffCoefficient: 2.0,
        maxRetryInterval: TimeSpan.FromMinutes(1)));

    /// <summary>A retried shard starts over: the new execution under the same instance id does not reuse the failed
    /// one's history, so it fetches all its batches again (blobs are overwritten, so the outcome is the same). Two
    /// attempts bound that cost.</summary>
    private static readonly RetryPolicy ShardRetryPolicy = new(
        maxNumberOfAttempts: 2,
        firstRetryInterval: TimeSpan.FromSeconds(30),
        backoffCoefficient: 2.0,
        maxRetryInterval: TimeSpan.FromMinutes(5));

    private const string LogCategory = "FetchFunctions.Orchestration";

    private readonly TaskOrchestrationContext _context;

    public DurableCrawlOrchestrationContext(TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        ReplaySafeLogger = context.CreateReplaySafeLogger(LogCategory);
    }

    public string InstanceId => _context.InstanceId;

    // The context's time is a UTC DateTime taken from the history; the ticks carry it over unchanged.
    public DateTimeOffset CurrentUtcDateTime => new(_context.CurrentUtcDateTime.Ticks, TimeSpan.Zero);

    public ILogger ReplaySafeLogger { get; }

    public Task<TResult> CallActivityAsync<TResult>(string name, object input) =>
        _context.CallActivityAsync<TResult>(name, input, ActivityOptions);

    public Task<TResult> CallSubOrchestratorAsync<TResult>(string name, string instanceId, object input) =>
        _context.CallSubOrchestratorAsync<TResult>(
            name,
            input,
            TaskOptions.FromRetryPolicy(ShardRetryPolicy).WithInstanceId(instanceId));

    public void SetCustomStatus(CrawlProgress status) => _context.SetCustomStatus(status);
}
