using System.Collections.Frozen;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using Azure;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Security;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace FetchFunctions.Core.Fetching;

/// <summary>Fetches one URL through the resilient HttpClient, follows redirects itself (each hop re-checked by the
/// SSRF guard at connect time), and streams the body through a counting, hashing, capped stream into the body sink.</summary>
internal sealed partial class FetchEngine(
    IHttpMessageHandlerFactory handlerFactory,
    IRecordSink sink,
    TimeProvider timeProvider,
    IOptions<FetchOptions> options,
    CrawlTelemetry telemetry,
    ILogger<FetchEngine> logger,
    ConnectedAddresses? connectedAddresses = null) : IFetchEngine, IDisposable
{
    /// <summary>The content codings the engine undoes (the handler's automatic decompression is off, see OpenBodyAsync).</summary>
    private const string AcceptedEncodings = "gzip, deflate, br";

    private static readonly FrozenSet<string> OriginBoundHeaders =
        FrozenSet.Create(StringComparer.OrdinalIgnoreCase, "Authorization", "Cookie", "Proxy-Authorization");

    private readonly IPNetwork[] _operatorNetworks = options.Value.AllowedNetworks.Select(IPNetwork.Parse).ToArray();

    // The named client's handler chain (resilience pipeline and all), held for the engine's life: its handler lifetime
    // is infinite, so the factory would hand out this same chain every time. An invoker over it skips an HttpClient per
    // fetch and the linked cancellation source an HttpClient makes for every send.
    private readonly HttpMessageInvoker _client = new(handlerFactory.CreateHandler(FetchEngineServiceCollectionExtensions.HttpClientName), disposeHandler: false);

    private readonly Sha256Pool _hashes = new(capacity: 256);

    /// <summary>Only the invoker: the handler chain stays the factory's.</summary>
    public void Dispose() => _client.Dispose();

    public async Task<FetchResult> FetchAsync(FetchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var state = new FetchState(request, timeProvider.GetTimestamp());
        using var activity = telemetry.StartFetch(request);
        if (UrlProblem(request.Url) is { } problem)
        {
            return Finish(state, FetchErrorKind.InvalidUrl, problem);
        }

        var policy = request.Policy;
        var bodySink = request.Sink ?? sink;
        state.Sink = bodySink;
        // One source joins the caller's token and the fetch deadline: on the system clock the deadline is the linked
        // source's own timer; another clock (tests) gets a timer source of its own, linked in. While a hop waits for its
        // response headers the same timer is brought forward to the hop's total budget (retries included), then set back.
        using var deadline = timeProvider == TimeProvider.System ? null : new CancellationTokenSource(policy.FetchDeadline, timeProvider);
        using var linked = deadline is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        state.Timer = deadline ?? linked;
        state.DeadlineAt = timeProvider.GetUtcNow() + policy.FetchDeadline;
        state.Timer.CancelAfter(policy.FetchDeadline);
        try
        {
            for (var bodyAttempt = 0; ; bodyAttempt++)
            {
                var hop = await SendFollowingRedirectsAsync(state, linked.Token).ConfigureAwait(false);
                if (hop.Failure is { } failure)
                {
                    return Finish(state, failure.Kind, failure.Message);
                }

                using var response = hop.Response!;
                state.Status = (int)response.StatusCode;
                state.ContentType = response.Content.Headers.ContentType?.ToString();
                var isSuccess = state.Status is >= 200 and <= 299;
                var httpError = isSuccess ? null : $"HTTP {state.Status} {response.ReasonPhrase}".TrimEnd();
                if (!policy.StoreStatuses.Contains(state.Status.Value))
                {
                    return Finish(state, isSuccess ? null : FetchErrorKind.HttpStatus, httpError);
                }

                var decoded = DecodableEncoding(response);
                if (decoded is null && response.Content.Headers.ContentLength > policy.MaxBodyBytes && !bodySink.RecordsExchanges)
                {
                    await bodySink.DeleteAsync(request.BlobName, cancellationToken).ConfigureAwait(false);
                    return Finish(state, FetchErrorKind.TooLarge, $"Content-Length {response.Content.Headers.ContentLength} exceeds the limit of {policy.MaxBodyBytes} bytes.");
                }

                // Bytes counts what the last body attempt read, stored or not: a too-large body counts up to the byte past
                // the cap that proved it too large, a body that broke off counts what arrived.
                BodyMeterStream? body = null;
                state.Bytes = 0;
                try
                {
                    var stream = OpenBody(await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false), decoded);
                    // Under the meter: link discovery sees the decoded bytes the sink stores, and no more than the cap.
                    stream = request.Links?.Wrap(stream, state.Status.Value, state.ContentType) ?? stream;
                    body = new BodyMeterStream(stream, policy.MaxBodyBytes, policy.BodyIdleTimeout, timeProvider, _hashes, truncateAtCap: bodySink.RecordsExchanges);
                    var location = await bodySink.StoreAsync(CreateWrite(state, response, decoded, timeProvider.GetUtcNow()), body, linked.Token).ConfigureAwait(false);
                    state.Bytes = body.BytesRead;
                    state.Sha256 = body.Completed ? body.GetSha256() : null;
                    state.Location = location;
                    if (request.Links is { } links && (body.Completed || body.Truncated))
                    {
                        await links.CompleteAsync(request.Url.OriginalString, new Uri(state.FinalUrl ?? request.Url.AbsoluteUri), state.ContentType,
                            response.Headers.TryGetValues("X-Robots-Tag", out var robotsTag) ? robotsTag : null, linked.Token).ConfigureAwait(false);
                    }

                    if (body.Truncated)
                    {
                        // Kept as a record marked truncated, and still reported as too large.
                        return Finish(state, FetchErrorKind.TooLarge, new BodyTooLargeException(policy.MaxBodyBytes).Message);
                    }

                    return Finish(state, isSuccess ? null : FetchErrorKind.HttpStatus, httpError);
                }
                catch (BodyReadException ex) when (bodyAttempt < policy.MaxBodyRetries && !linked.IsCancellationRequested)
                {
                    LogBodyRetry(logger, request.Url.Host, bodyAttempt + 1, ex.Message);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // The body phase failed: an older body under this name would now contradict the result.
                    await bodySink.DeleteAsync(request.BlobName, cancellationToken).ConfigureAwait(false);
                    throw;
                }
                finally
                {
                    if (body is not null)
                    {
                        state.Bytes = body.BytesRead;
                        await body.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }
        }
        // The caller did not cancel, so a cancelled linked source means the deadline passed.
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Classify(ex, linked.IsCancellationRequested, policy, state.BudgetAt is { } budget && budget < state.DeadlineAt) is { } classified)
        {
            return Finish(state, classified.Kind, classified.Message);
        }
    }

    private async Task<HopOutcome> SendFollowingRedirectsAsync(FetchState state, CancellationToken cancellationToken)
    {
        var policy = state.Request.Policy;
        var current = state.Request.Url;

        // Most fetches are not redirected: the loop detector's set is made at the first redirect.
        HashSet<string>? visited = null;
        for (var hop = 0; ; hop++)
        {
            state.FinalUrl = current.AbsoluteUri;
            if (NarrowsOperatorNetworks(policy)
                && await JobPolicyProblemAsync(current, policy, cancellationToken).ConfigureAwait(false) is { } blocked)
            {
                return new HopOutcome(null, new FetchFailure(FetchErrorKind.BlockedByPolicy, blocked));
            }

            // The hop's total budget for its response headers, retries included; the body is bound by the deadline.
            var now = timeProvider.GetUtcNow();
            var budgetAt = now + policy.TotalTimeout < state.DeadlineAt ? now + policy.TotalTimeout : state.DeadlineAt;
            using var message = CreateMessage(current, state, budgetAt);
            state.BudgetAt = budgetAt;
            state.Timer!.CancelAfter(Max(budgetAt - now, TimeSpan.FromMilliseconds(1)));
            // An invoker never buffers: SendAsync returns at the response headers.
            var response = await _client.SendAsync(message, cancellationToken).ConfigureAwait(false);
            if (!state.Timer.IsCancellationRequested)
            {
                state.BudgetAt = null;
                state.Timer.CancelAfter(Max(state.DeadlineAt - timeProvider.GetUtcNow(), TimeSpan.Zero));
            }
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location)
            {
                return new HopOutcome(response, null);
            }

            try
            {
                if (state.Sink!.RecordsExchanges)
                {
                    await state.Sink.RecordHopAsync(CreateWrite(state, response, null, timeProvider.GetUtcNow()), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                response.Dispose();
            }

            state.Status = (int)response.StatusCode;
            if (hop >= policy.MaxRedirects)
            {
                return new HopOutcome(null, new FetchFailure(FetchErrorKind.TooManyRedirects, $"More than {policy.MaxRedirects} redirects."));
            }

            var next = location.IsAbsoluteUri ? location : new Uri(current, location);
            if (UrlProblem(next) is { } problem)
            {
                return new HopOutcome(null, new FetchFailure(FetchErrorKind.InvalidUrl, $"Redirect to an unusable URL: {problem}"));
            }

            next = WithoutFragment(next);
            visited ??= new HashSet<string>(StringComparer.Ordinal) { state.Request.Url.AbsoluteUri };
            if (!visited.Add(next.AbsoluteUri))
            {
                return new HopOutcome(null, new FetchFailure(FetchErrorKind.RedirectLoop, $"Redirect loop back to {next.AbsoluteUri}."));
            }

            // robots.txt holds for every URL requested, a redirect's target too (its origin's rules, read first if new).
            if (state.Request.RedirectDisallowed is { } disallowed && await disallowed(next, cancellationToken).ConfigureAwait(false) is { } reason)
            {
                state.FinalUrl = next.AbsoluteUri;
                return new HopOutcome(null, new FetchFailure(FetchErrorKind.DisallowedByRobots, reason));
            }

            CrawlTelemetry.Redirected((int)response.StatusCode, next);
            current = next;
        }
    }

    private static TimeSpan Max(TimeSpan left, TimeSpan right) => left > right ? left : right;

    private static HttpRequestMessage CreateMessage(Uri url, FetchState state, DateTimeOffset budgetAt)
    {
        var policy = state.Request.Policy;
        var message = new HttpRequestMessage(HttpMethod.Get, url);
        message.Headers.TryAddWithoutValidation("User-Agent", policy.UserAgent);
        if (!policy.Headers.ContainsKey("Accept-Encoding"))
        {
            message.Headers.TryAddWithoutValidation("Accept-Encoding", AcceptedEncodings);
        }
        if (policy.Headers.Count > 0)
        {
            var sameOrigin = Uri.Compare(url, state.Request.Url, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
            foreach (var (name, value) in policy.Headers)
            {
                // Credentials given for the job's URL are not handed to another origin by a redirect.
                if (!sameOrigin && OriginBoundHeaders.Contains(name))
                {
                    continue;
                }

                message.Headers.TryAddWithoutValidation(name, value);
            }
        }

        message.Options.Set(FetchRequestOptions.Policy, policy);
        message.Options.Set(FetchRequestOptions.Deadline, budgetAt);
        message.Options.Set(FetchRequestOptions.Attempts, state.Attempts);
        return message;
    }

    /// <summary>Whether the job's allow-list differs from the operator's (it can only be narrower): checked on every hop,
    /// so without LINQ or allocation.</summary>
    private bool NarrowsOperatorNetworks(FetchPolicy policy)
    {
        var jobNetworks = policy.AddressPolicy.AllowedNetworks;
        if (jobNetworks.Count != _operatorNetworks.Length)
        {
            return true;
        }

        for (var i = 0; i < jobNetworks.Count; i++)
        {
            if (Array.IndexOf(_operatorNetworks, jobNetworks[i]) < 0)
            {
                return true;
            }
        }

        // Same count is not enough: a job list with repeats ([A, A] against [A, B]) is narrower too.
        foreach (var network in _operatorNetworks)
        {
            var found = false;
            for (var i = 0; i < jobNetworks.Count && !found; i++)
            {
                found = jobNetworks[i].Equals(network);
            }

            if (!found)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A job may narrow the operator's allow-list. The connect-time guard enforces the operator's list (it is shared
    /// by pooled connections); a narrower job list is checked here, before any request, on every hop.</summary>
    private static async Task<string?> JobPolicyProblemAsync(Uri url, FetchPolicy policy, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(url.IdnHost, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(url.IdnHost, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                // Unresolvable: the connect-time guard reports it as a DNS failure.
                return null;
            }
        }

        foreach (var address in addresses)
        {
            if (policy.AddressPolicy.GetBlockReason(address) is { } reason)
            {
                return $"Blocked by policy: {url.Host} resolves to {address}, which is {reason}.";
            }
        }

        return null;
    }

    private FetchResult Finish(FetchState state, FetchErrorKind? kind, string? error)
    {
        var duration = timeProvider.GetElapsedTime(state.StartedAt);
        var result = new FetchResult(
            state.Request.Url.AbsoluteUri,
            state.FinalUrl,
            state.Status,
            state.ContentType,
            state.Bytes,
            state.Sha256,
            state.Attempts.Value,
            duration,
            state.Location?.BlobName,
            kind,
            error,
            state.Location?.WarcFile,
            state.Location?.WarcOffset,
            state.Location?.WarcLength);
        CrawlTelemetry.FetchFinished(result);
        if (kind is null)
        {
            LogFetched(logger, state.Request.Url.Host, state.Status, state.Bytes, state.Attempts.Value, duration.TotalMilliseconds);
        }
        else
        {
            LogFetchFailed(logger, state.Request.Url.Host, kind.Value, state.Attempts.Value, duration.TotalMilliseconds);
        }

        return result;
    }

    private RecordWrite CreateWrite(FetchState state, HttpResponseMessage response, string? decoded, DateTimeOffset fetchedAt)
    {
        var headers = response.Content.Headers;
        // What remains after the engine's decoding is how the stored bytes are encoded.
        var encoding = decoded is null && headers.ContentEncoding.Count > 0 ? string.Join(", ", headers.ContentEncoding) : null;
        var target = response.RequestMessage?.RequestUri ?? state.Request.Url;
        RecordedRequest? request = null;
        RecordedResponse? recorded = null;
        if (state.Sink!.RecordsExchanges)
        {
            request = RecordRequest(response.RequestMessage, target);
            recorded = RecordResponse(response, decoded);
        }

        return new RecordWrite(target, request, recorded, connectedAddresses?.For(target), fetchedAt, state.Request.BlobName,
            headers.ContentType?.ToString(), encoding, MetadataValue(state.Request.Url.AbsoluteUri),
            MetadataValue(state.FinalUrl ?? state.Request.Url.AbsoluteUri), (int)response.StatusCode);
    }

    private static RecordedRequest RecordRequest(HttpRequestMessage? message, Uri target)
    {
        var headers = new List<KeyValuePair<string, string>>(8) { new("Host", target.IsDefaultPort ? target.IdnHost : $"{target.IdnHost}:{target.Port}") };
        if (message is not null)
        {
            foreach (var (name, values) in message.Headers.NonValidated)
            {
                foreach (var value in values)
                {
                    headers.Add(new(name, SensitiveHeaders.Shown(name, value)!));
                }
            }
        }

        return new RecordedRequest(message?.Method.Method ?? "GET", target, message?.Version ?? HttpVersion.Version11, headers);
    }

    private static RecordedResponse RecordResponse(HttpResponseMessage response, string? decoded)
    {
        var headers = new List<KeyValuePair<string, string>>(16);
        foreach (var (name, values) in response.Headers.NonValidated)
        {
            foreach (var value in values)
            {
                headers.Add(new(name, value));
            }
        }

        foreach (var (name, values) in response.Content.Headers.NonValidated)
        {
            foreach (var value in values)
            {
                headers.Add(new(name, value));
            }
        }

        return new RecordedResponse(response.Version, (int)response.StatusCode, response.ReasonPhrase, headers, decoded);
    }

    /// <summary>The one content coding the engine undoes, or null: stacked or unknown codings are stored as they came.</summary>
    private static string? DecodableEncoding(HttpResponseMessage response)
    {
        var encodings = response.Content.Headers.ContentEncoding;
        if (encodings.Count != 1)
        {
            return null;
        }

        var encoding = encodings.First();
        return encoding.ToUpperInvariant() switch
        {
            "GZIP" or "X-GZIP" or "DEFLATE" or "BR" => encoding,
            _ => null,
        };
    }

    private static Stream OpenBody(Stream stream, string? decoded) => decoded?.ToUpperInvariant() switch
    {
        null => stream,
        "GZIP" or "X-GZIP" => new GZipStream(stream, CompressionMode.Decompress),
        "DEFLATE" => new ZLibStream(stream, CompressionMode.Decompress),
        _ => new BrotliStream(stream, CompressionMode.Decompress),
    };

    /// <summary>Metadata values are ASCII header values with a size limit; URLs are already ASCII (AbsoluteUri escapes).</summary>
    private static string MetadataValue(string value) => value.Length <= 2048 ? value : value[..2048];

    private static string? UrlProblem(Uri url)
    {
        if (!url.IsAbsoluteUri)
        {
            return "the URL is not absolute.";
        }

        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
        {
            return $"scheme '{url.Scheme}' is not http or https.";
        }

        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            return "URLs with credentials are not fetched.";
        }

        return string.IsNullOrEmpty(url.Host) ? "the URL has no host." : null;
    }

    private static Uri WithoutFragment(Uri url) =>
        string.IsNullOrEmpty(url.Fragment) ? url : new UriBuilder(url) { Fragment = string.Empty }.Uri;

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    // budgetFirst: a hop was waiting for its headers under a total budget ending before the deadline, so a cancelled
    // fetch ran out of that budget.
    internal static FetchFailure? Classify(Exception exception, bool deadlineExpired, FetchPolicy policy, bool budgetFirst = false)
    {
        switch (exception)
        {
            case BodyTooLargeException tooLarge:
                return new(FetchErrorKind.TooLarge, tooLarge.Message);
            case BodyIdleTimeoutException idle:
                return new(FetchErrorKind.Timeout, idle.Message);
            case BodyReadException interrupted:
                return new(FetchErrorKind.BodyInterrupted, interrupted.Message);
            case OperationCanceledException when deadlineExpired && !budgetFirst:
                return new(FetchErrorKind.Timeout, $"The fetch did not finish within its deadline of {policy.FetchDeadline.TotalSeconds:0.###} s.");
            case OperationCanceledException when deadlineExpired:
            case TimeoutRejectedException:
                return new(FetchErrorKind.Timeout, $"No response within the time budget (attempt {policy.AttemptTimeout.TotalSeconds:0.###} s, total {policy.TotalTimeout.TotalSeconds:0.###} s).");
            case BrokenCircuitException broken:
                return new(FetchErrorKind.CircuitOpen, $"The host's circuit breaker is open: {broken.Message}");
            case RequestFailedException storage:
                return new(FetchErrorKind.Storage, $"Storage: {storage.Status} {storage.ErrorCode}");
            case HttpRequestException or SocketException or IOException or AuthenticationException:
                return ClassifyTransport(exception);
            default:
                return null;
        }
    }

    private static FetchFailure ClassifyTransport(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case AddressBlockedException blocked:
                    return new(FetchErrorKind.BlockedByPolicy, blocked.Message);
                case DnsFailureException dns:
                    return new(FetchErrorKind.Dns, dns.Message);
                case AuthenticationException tls:
                    return new(FetchErrorKind.Tls, $"TLS: {tls.Message}");
                case SocketException socket:
                    return new(FetchErrorKind.Connect, $"Connect: {socket.SocketErrorCode}");
            }
        }

        return exception switch
        {
            HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => new(FetchErrorKind.Dns, exception.Message),
            HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } => new(FetchErrorKind.Tls, exception.Message),
            HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse } => new(FetchErrorKind.BodyInterrupted, exception.Message),
            _ => new(FetchErrorKind.Connect, exception.Message),
        };
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Fetched from {Host}: status {Status}, {Bytes} bytes, {Attempts} attempts, {ElapsedMs:0.0} ms")]
    private static partial void LogFetched(ILogger logger, string host, int? status, long bytes, int attempts, double elapsedMs);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Fetch from {Host} failed: {Kind} after {Attempts} attempts, {ElapsedMs:0.0} ms")]
    private static partial void LogFetchFailed(ILogger logger, string host, FetchErrorKind kind, int attempts, double elapsedMs);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Body from {Host} broke off; fetching again (body retry {Retry}): {Reason}")]
    private static partial void LogBodyRetry(ILogger logger, string host, int retry, string reason);

    internal sealed record FetchFailure(FetchErrorKind Kind, string Message);

    private sealed record HopOutcome(HttpResponseMessage? Response, FetchFailure? Failure);

    private sealed class FetchState(FetchRequest request, long startedAt)
    {
        public FetchRequest Request { get; } = request;
        public long StartedAt { get; } = startedAt;
        public StrongBox<int> Attempts { get; } = new();
        public string? FinalUrl { get; set; }
        public int? Status { get; set; }
        public string? ContentType { get; set; }
        public long Bytes { get; set; }
        public string? Sha256 { get; set; }
        public BodyLocation? Location { get; set; }
        public IRecordSink? Sink { get; set; }

        /// <summary>The source whose timer ends the fetch: at the deadline, or earlier at a hop's budget.</summary>
        public CancellationTokenSource? Timer { get; set; }

        public DateTimeOffset DeadlineAt { get; set; }

        /// <summary>When the hop waiting for its response headers runs out of its total budget; null otherwise.</summary>
        public DateTimeOffset? BudgetAt { get; set; }
    }
}
