using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using FetchFunctions.Core.Telemetry;

namespace FetchFunctions.Core.Storage;

/// <summary>Core's retry for storage clients: what the SDK retries (transport failures, 408, 429, 500, 502, 503, 504),
/// with exponential backoff, for <see cref="StorageOptions.RetryBudget"/> per operation once the client has had an answer
/// from storage; before that, <see cref="FirstContactTries"/> quick tries. An operation that runs out of its budget
/// fails with a <see cref="RequestFailedException"/> naming the operation (method and path, never the query) and the
/// last failure.</summary>
internal sealed class StorageRetryPolicy(TimeSpan budget, TimeProvider timeProvider, CrawlTelemetry? telemetry = null)
    : RetryPolicy(int.MaxValue, DelayStrategy.CreateExponentialDelayStrategy(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5)))
{
    /// <summary>Tries before storage has ever answered: nothing listening, a wrong account or endpoint.</summary>
    public const int FirstContactTries = 3;

    // Set once any response arrives; a client that has reached storage once is riding out a blip when calls fail.
    private volatile bool _contacted;

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            await base.ProcessAsync(message, pipeline).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException { Status: 0 } or AggregateException)
        {
            throw GaveUp(message, ex);
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            base.Process(message, pipeline);
        }
        catch (Exception ex) when (ex is RequestFailedException { Status: 0 } or AggregateException)
        {
            throw GaveUp(message, ex);
        }
    }

    protected override void OnRequestSent(HttpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.HasResponse)
        {
            _contacted = true;
        }

        base.OnRequestSent(message);
    }

    protected override ValueTask OnRequestSentAsync(HttpMessage message)
    {
        OnRequestSent(message);
        return ValueTask.CompletedTask;
    }

    protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
        base.ShouldRetry(message, exception) && Counted(message, exception, WithinBudget(message));

    protected override async ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
        await base.ShouldRetryAsync(message, exception).ConfigureAwait(false) && Counted(message, exception, WithinBudget(message));

    /// <summary>A failure the SDK would retry is a storage error worth counting, whether the budget lets it retry or not.</summary>
    private bool Counted(HttpMessage message, Exception? exception, bool retrying)
    {
        telemetry?.StorageFailed(message.HasResponse ? message.Response.Status : 0, exception, retrying);
        return retrying;
    }

    private bool WithinBudget(HttpMessage message) => _contacted
        ? timeProvider.GetUtcNow() - message.ProcessingContext.StartTime < budget
        : message.ProcessingContext.RetryNumber < FirstContactTries - 1;

    private RequestFailedException GaveUp(HttpMessage message, Exception exception)
    {
        var last = exception is AggregateException aggregate && aggregate.InnerExceptions.Count > 0 ? aggregate.InnerExceptions[^1] : exception;
        var tries = message.ProcessingContext.RetryNumber + 1;
        var uri = message.Request.Uri.ToUri();
        var what = $"{message.Request.Method} {uri.Host}:{uri.Port}{uri.AbsolutePath}";
        var reason = _contacted
            ? $"storage did not answer {what} within the retry budget of {budget.TotalSeconds:0.#} s (Storage:RetryBudget), {tries} tries"
            : $"storage could not be reached for {what} ({tries} tries)";
        return new RequestFailedException($"{reason}: {last.Message}", exception);
    }
}
