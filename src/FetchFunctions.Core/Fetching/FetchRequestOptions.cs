using System.Runtime.CompilerServices;
using FetchFunctions.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Polly.Timeout;

namespace FetchFunctions.Core.Fetching;

/// <summary>Per-request values the engine hands to the resilience pipeline through <see cref="HttpRequestMessage.Options"/>,
/// so one pipeline per host serves jobs with different (tighter) policies.</summary>
internal static class FetchRequestOptions
{
    public static readonly HttpRequestOptionsKey<FetchPolicy> Policy = new("FetchFunctions.Policy");

    /// <summary>When the headers of this hop must have arrived (total timeout or the fetch deadline, whichever is first).</summary>
    public static readonly HttpRequestOptionsKey<DateTimeOffset> Deadline = new("FetchFunctions.Deadline");

    /// <summary>Counts attempts that reached the network.</summary>
    public static readonly HttpRequestOptionsKey<StrongBox<int>> Attempts = new("FetchFunctions.Attempts");

    public static FetchPolicy? GetPolicy(HttpRequestMessage? request) =>
        request is not null && request.Options.TryGetValue(Policy, out var policy) ? policy : null;
}

/// <summary>The innermost handler: counts every attempt that is actually sent, records it on the fetch span, and bounds
/// each by the attempt timeout. A timed-out attempt fails with Polly's <see cref="TimeoutRejectedException"/>, which the
/// retry and the breaker above treat as transient, as they did when this was the pipeline's innermost strategy; here it
/// costs no pipeline layer.</summary>
internal sealed partial class AttemptHandler(TimeSpan defaultTimeout, TimeProvider timeProvider, ILogger<AttemptHandler> logger) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var attempt = 0;
        if (request.Options.TryGetValue(FetchRequestOptions.Attempts, out var attempts))
        {
            attempt = Interlocked.Increment(ref attempts.Value);
        }

        return CrawlTelemetry.InFetch
            ? CrawlTelemetry.AttemptAsync(attempt, () => SendWithinTimeoutAsync(request, cancellationToken))
            : SendWithinTimeoutAsync(request, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendWithinTimeoutAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var timeout = FetchRequestOptions.GetPolicy(request)?.AttemptTimeout ?? defaultTimeout;
        using var timer = timeProvider == TimeProvider.System ? null : new CancellationTokenSource(timeout, timeProvider);
        using var attempt = timer is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        if (timer is null)
        {
            attempt.CancelAfter(timeout);
        }

        try
        {
            return await base.SendAsync(request, attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The event name Polly's own timeout strategy logged, so operators' log queries keep finding it.
            LogAttemptTimedOut(logger, request.RequestUri?.Authority, timeout.TotalMilliseconds);
            throw new TimeoutRejectedException($"The attempt got no response within {timeout.TotalSeconds:0.###} s.", timeout, ex);
        }
    }

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "OnTimeout: an attempt to {Authority} got no response within {TimeoutMs} ms")]
    private static partial void LogAttemptTimedOut(ILogger logger, string? authority, double timeoutMs);
}
