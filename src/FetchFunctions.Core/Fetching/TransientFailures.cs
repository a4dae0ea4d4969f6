using System.Net;
using System.Security.Authentication;
using FetchFunctions.Core.Security;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace FetchFunctions.Core.Fetching;

/// <summary>What counts as worth another attempt, for the retry and the circuit breaker alike.</summary>
internal static class TransientFailures
{
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Result: { } response } => IsTransientStatus(response.StatusCode),
        { Exception: { } exception } => IsTransientException(exception),
        _ => false,
    };

    public static bool IsTransientStatus(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
        || ((int)status >= 500 && status is not HttpStatusCode.NotImplemented and not HttpStatusCode.HttpVersionNotSupported);

    private static bool IsTransientException(Exception exception) => exception switch
    {
        TimeoutRejectedException => true,
        OperationCanceledException => false,
        BrokenCircuitException => false,
        HttpRequestException http => !IsPermanent(http),
        IOException => true,
        _ => false,
    };

    /// <summary>Policy blocks, unknown hosts and TLS failures do not heal on retry (a resolver's "try again" may).</summary>
    private static bool IsPermanent(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AddressBlockedException or DnsFailureException { IsTemporary: false } or AuthenticationException)
            {
                return true;
            }
        }

        return exception is HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError or HttpRequestError.ConfigurationLimitExceeded or HttpRequestError.UserAuthenticationError };
    }

    /// <summary>The delay a response asks for with Retry-After (seconds or an HTTP date), if any.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}
