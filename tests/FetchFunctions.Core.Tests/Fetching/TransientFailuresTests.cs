using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Security;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace FetchFunctions.Core.Tests.Fetching;

public sealed class TransientFailuresTests
{
    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(501, false)]
    [InlineData(505, false)]
    [InlineData(404, false)]
    [InlineData(400, false)]
    [InlineData(200, false)]
    public void IsTransient_Status_RetriesOnlyTransientOnes(int status, bool transient)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status);

        Assert.Equal(transient, TransientFailures.IsTransient(Outcome.FromResult(response)));
    }

    [Fact]
    public void IsTransient_Exceptions_OnlyCausesThatMayHealAreRetried()
    {
        Assert.True(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("reset", new SocketException((int)SocketError.ConnectionReset)))));
        Assert.True(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new TimeoutRejectedException())));
        Assert.False(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("blocked", new AddressBlockedException("blocked")))));
        Assert.False(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("dns", new DnsFailureException("dns", new SocketException((int)SocketError.HostNotFound))))));
        Assert.True(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("dns", new DnsFailureException("dns", new SocketException((int)SocketError.TryAgain))))));
        Assert.False(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("tls", new AuthenticationException("bad certificate")))));
        Assert.False(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new OperationCanceledException())));
        Assert.False(TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new BrokenCircuitException())));
    }

    [Fact]
    public void RetryAfter_SecondsAndDate_GiveTheDelay()
    {
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        using var seconds = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        seconds.Headers.TryAddWithoutValidation("Retry-After", "7");
        using var date = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        date.Headers.TryAddWithoutValidation("Retry-After", now.AddSeconds(30).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        using var past = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        past.Headers.TryAddWithoutValidation("Retry-After", now.AddSeconds(-30).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        using var none = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);

        Assert.Equal(TimeSpan.FromSeconds(7), TransientFailures.RetryAfter(seconds, now));
        Assert.Equal(TimeSpan.FromSeconds(30), TransientFailures.RetryAfter(date, now));
        Assert.Equal(TimeSpan.Zero, TransientFailures.RetryAfter(past, now));
        Assert.Null(TransientFailures.RetryAfter(none, now));
    }

    [Fact]
    public void Classify_TransportCauses_MapToErrorKinds()
    {
        var policy = new FetchOptions();
        var fetchPolicy = FetchPolicy.FromOptions(policy);

        Assert.Equal(FetchErrorKind.Dns, FetchEngine.Classify(new HttpRequestException("x", new DnsFailureException("dns", new SocketException((int)SocketError.HostNotFound))), false, fetchPolicy)!.Kind);
        Assert.Equal(FetchErrorKind.Dns, FetchEngine.Classify(new HttpRequestException("x", new DnsFailureException("dns", new SocketException((int)SocketError.TryAgain))), false, fetchPolicy)!.Kind);
        Assert.Equal(FetchErrorKind.Tls, FetchEngine.Classify(new HttpRequestException("x", new AuthenticationException("cert")), false, fetchPolicy)!.Kind);
        Assert.Equal(FetchErrorKind.Connect, FetchEngine.Classify(new HttpRequestException("x", new SocketException((int)SocketError.ConnectionRefused)), false, fetchPolicy)!.Kind);
        Assert.Equal(FetchErrorKind.BlockedByPolicy, FetchEngine.Classify(new HttpRequestException("x", new AddressBlockedException("no")), false, fetchPolicy)!.Kind);
        Assert.Equal(FetchErrorKind.Timeout, FetchEngine.Classify(new TaskCanceledException(), true, fetchPolicy)!.Kind);
        Assert.Equal(FetchErrorKind.CircuitOpen, FetchEngine.Classify(new BrokenCircuitException(), false, fetchPolicy)!.Kind);
        Assert.Null(FetchEngine.Classify(new InvalidOperationException("a bug"), false, fetchPolicy));
    }
}
