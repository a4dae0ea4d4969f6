using System.Runtime.CompilerServices;
using FetchFunctions.Core.Telemetry;

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

/// <summary>The innermost handler: counts every attempt that is actually sent (and records it on the fetch span).</summary>
internal sealed class AttemptCountingHandler : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var attempt = 0;
        if (request.Options.TryGetValue(FetchRequestOptions.Attempts, out var attempts))
        {
            attempt = Interlocked.Increment(ref attempts.Value);
        }

        if (CrawlTelemetry.InFetch)
        {
            return CrawlTelemetry.AttemptAsync(attempt, () => base.SendAsync(request, cancellationToken));
        }

        return base.SendAsync(request, cancellationToken);
    }
}
