using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Telemetry;

/// <summary>Core's spans and metrics. Attributes follow OpenTelemetry's HTTP client conventions where they apply; none
/// carries a query string, a header value or an error message (messages quote URLs). Every method returns at once when
/// nothing listens: the source has no listener, the activity is null, or the instrument is not enabled.</summary>
internal sealed class CrawlTelemetry
{
    public const string JobSpan = "fetchfn.job";
    public const string PlanSpan = "fetchfn.plan";
    public const string LaneSpan = "fetchfn.lane";
    public const string BatchSpan = "fetchfn.batch";
    public const string SummarySpan = "fetchfn.summary";
    public const string FetchSpan = "fetchfn.fetch";
    public const string RobotsSpan = "fetchfn.robots";
    public const string AttemptEvent = "fetchfn.attempt";
    public const string RedirectEvent = "fetchfn.redirect";

    public const string JobIdTag = "fetchfn.job.id";
    public const string BatchIndexTag = "fetchfn.batch.index";
    public const string LaneFirstTag = "fetchfn.lane.first";
    public const string LaneFromTag = "fetchfn.lane.from";
    public const string UrlsTag = "fetchfn.urls";
    public const string FailedTag = "fetchfn.failed";
    public const string BytesTag = "fetchfn.bytes";
    public const string AttemptsTag = "fetchfn.attempts";
    public const string AttemptTag = "fetchfn.attempt";
    public const string ErrorKindTag = "fetchfn.error.kind";
    public const string OutcomeTag = "fetchfn.outcome";
    public const string BlockReasonTag = "fetchfn.block.reason";
    public const string BreakerStateTag = "fetchfn.breaker.state";
    public const string StorageOutcomeTag = "fetchfn.storage.outcome";
    public const string BatchKeptTag = "fetchfn.batch.kept";
    public const string MethodTag = "http.request.method";
    public const string ServerAddressTag = "server.address";
    public const string ServerPortTag = "server.port";
    public const string SchemeTag = "url.scheme";
    public const string FullUrlTag = "url.full";
    public const string StatusCodeTag = "http.response.status_code";
    public const string ErrorTypeTag = "error.type";

    /// <summary>Static, as .NET's own sources are: an <see cref="ActivitySource"/> holds no state of ours.</summary>
    internal static readonly ActivitySource Source = new(FetchFunctionsTelemetry.SourceName, typeof(CrawlTelemetry).Assembly.GetName().Version?.ToString());

    // OpenTelemetry's recommended boundaries for HTTP client durations, stretched to the fetch deadline's range.
    private static readonly double[] FetchSeconds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120];
    private static readonly double[] BatchSeconds = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly bool _recordFullUrl;
    private readonly HostLabelCap _hosts;
    private readonly Counter<long> _urls;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _retries;
    private readonly Histogram<double> _fetchDuration;
    private readonly Counter<long> _breaker;
    private readonly Counter<long> _blocked;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _storageErrors;

    public CrawlTelemetry(IMeterFactory meterFactory, IOptions<CrawlTelemetryOptions> options)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(options);
        _recordFullUrl = options.Value.RecordFullUrl;
        _hosts = new HostLabelCap(options.Value.MaxHostLabels);
        var meter = meterFactory.Create(FetchFunctionsTelemetry.MeterName, Source.Version);
        _urls = meter.CreateCounter<long>("fetchfn.urls", "{url}", "URLs of crawl batches done, by outcome (status code or error kind).");
        _bytes = meter.CreateCounter<long>("fetchfn.bytes", "By", "Body bytes read (decompressed), stored or not.");
        _attempts = meter.CreateCounter<long>("fetchfn.attempts", "{attempt}", "HTTP attempts, retries, redirect hops and body re-fetches included.");
        _retries = meter.CreateCounter<long>("fetchfn.retries", "{retry}", "Attempts retried by the resilience pipeline (408, 429, 5xx, transient network errors).");
        _fetchDuration = meter.CreateHistogram("fetchfn.fetch.duration", "s", "Wall time of one URL's fetch (redirects, retries and body), by host.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FetchSeconds });
        _breaker = meter.CreateCounter<long>("fetchfn.breaker.transitions", "{transition}", "Circuit breaker state changes, by host and new state.");
        _blocked = meter.CreateCounter<long>("fetchfn.blocked", "{url}", "URLs not fetched: disallowed by robots.txt, or blocked by the address policy.");
        _batchDuration = meter.CreateHistogram("fetchfn.batch.duration", "s", "Wall time of one batch fetched, from its opening to its commit (batches read back from storage are not timed).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = BatchSeconds });
        _storageErrors = meter.CreateCounter<long>("fetchfn.storage.errors", "{error}", "Failed storage requests that were retried or gave up.");
    }

    // ---- Spans of the job (in-process runner) and of each activity (both hosts) ----

    public static Activity? StartJob(string jobId)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(JobSpan, ActivityKind.Internal);
        activity?.SetTag(JobIdTag, jobId);
        return activity;
    }

    public static void JobDone(Activity? activity, CrawlSummary summary)
    {
        if (activity is null || !activity.IsAllDataRequested)
        {
            return;
        }

        activity.SetTag(UrlsTag, summary.Total);
        activity.SetTag(FailedTag, summary.Failed);
        activity.SetTag(BytesTag, summary.Bytes);
        activity.SetTag(AttemptsTag, summary.Attempts);
    }

    /// <summary>For an exception filter: marks the span failed (by the exception's type, never its message) and returns
    /// false, so the exception goes on unchanged.</summary>
    public static bool Failed(Activity? activity, Exception exception)
    {
        if (activity is not null)
        {
            var type = exception.GetType().FullName;
            activity.SetTag(ErrorTypeTag, type);
            activity.SetStatus(ActivityStatusCode.Error, exception is OperationCanceledException ? "cancelled" : type);
        }

        return false;
    }

    /// <summary>Runs <paramref name="call"/> in a span of its own (plan, summary).</summary>
    public static Task<T> TraceAsync<T>(string spanName, string jobId, Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return Source.HasListeners() ? TracedAsync(spanName, jobId, call) : call();
    }

    private static async Task<T> TracedAsync<T>(string spanName, string jobId, Func<Task<T>> call)
    {
        using var activity = Source.StartActivity(spanName, ActivityKind.Internal);
        activity?.SetTag(JobIdTag, jobId);
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (Failed(activity, ex))
        {
            throw;
        }
    }

    /// <summary>The span of one lane call (the activity): its batches' spans are its children.</summary>
    public static Activity? StartLane(LaneWork lane)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(LaneSpan, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(JobIdTag, lane.JobId);
            activity.SetTag(LaneFirstTag, lane.FirstBatch);
            activity.SetTag(LaneFromTag, lane.FromBatch);
        }

        return activity;
    }

    /// <summary>The span of one batch, from its opening to its commit: its fetch spans are its children.</summary>
    public static Activity? StartBatch(string jobId, int batchIndex)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(BatchSpan, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(JobIdTag, jobId);
            activity.SetTag(BatchIndexTag, batchIndex);
        }

        return activity;
    }

    /// <summary>The batch's results were already stored (a resumed run, a retried activity): nothing was fetched.</summary>
    public static void BatchKept(Activity? activity) => activity?.SetTag(BatchKeptTag, true);

    public void BatchDone(Activity? activity, BatchStats stats, TimeSpan elapsed)
    {
        if (_batchDuration.Enabled)
        {
            _batchDuration.Record(elapsed.TotalSeconds);
        }

        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(UrlsTag, stats.Urls);
            activity.SetTag(FailedTag, stats.Failed);
            activity.SetTag(BytesTag, stats.Bytes);
            activity.SetTag(AttemptsTag, stats.Attempts);
        }
    }

    // ---- The fetch of one URL (engine), its attempts (innermost handler) and redirect hops ----

    public Activity? StartFetch(FetchRequest request)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // robots.txt is read into memory through a sink of its own: a span of another name, so "one fetch span per URL" holds.
        var activity = Source.StartActivity(request.Sink is RobotsBodySink ? RobotsSpan : FetchSpan, ActivityKind.Client);
        if (activity is not { IsAllDataRequested: true })
        {
            return activity;
        }

        var url = request.Url;
        activity.SetTag(MethodTag, "GET");
        activity.SetTag(ServerAddressTag, url.Host);
        activity.SetTag(ServerPortTag, url.Port);
        activity.SetTag(SchemeTag, url.Scheme);
        if (_recordFullUrl && url.IsAbsoluteUri)
        {
            // Scheme, host, port and path: no user info, query or fragment.
            activity.SetTag(FullUrlTag, url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped));
        }

        // The batch span is the parent in both hosts; its job id and index make one fetch findable without the parent.
        if (activity.Parent is { } parent && ReferenceEquals(parent.Source, Source))
        {
            activity.SetTag(JobIdTag, parent.GetTagItem(JobIdTag));
            activity.SetTag(BatchIndexTag, parent.GetTagItem(BatchIndexTag));
        }

        return activity;
    }

    /// <summary>Whether this flow is inside a recorded fetch span.</summary>
    public static bool InFetch => CurrentFetch() is not null;

    /// <summary>The fetch span in flight, when this flow is inside one.</summary>
    private static Activity? CurrentFetch() =>
        Activity.Current is { Kind: ActivityKind.Client, IsAllDataRequested: true } current && ReferenceEquals(current.Source, Source) ? current : null;

    public static void FetchFinished(FetchResult result)
    {
        if (CurrentFetch() is not { } activity)
        {
            return;
        }

        if (result.StatusCode is { } status)
        {
            activity.SetTag(StatusCodeTag, status);
        }

        activity.SetTag(BytesTag, result.Bytes);
        activity.SetTag(AttemptsTag, result.Attempts);
        if (result.ErrorKind is { } kind)
        {
            var kindName = kind.ToString();
            activity.SetTag(ErrorKindTag, kindName);
            // The conventions' error.type: the status code when the answer was the error, else the kind of failure.
            activity.SetTag(ErrorTypeTag, kind == FetchErrorKind.HttpStatus && result.StatusCode is { } code
                ? code.ToString(CultureInfo.InvariantCulture)
                : kindName);
            activity.SetStatus(ActivityStatusCode.Error, kindName);
        }
    }

    public static void Redirected(int status, Uri next)
    {
        if (CurrentFetch() is not { } activity)
        {
            return;
        }

        activity.AddEvent(new ActivityEvent(RedirectEvent, tags: new ActivityTagsCollection
        {
            [StatusCodeTag] = status,
            [ServerAddressTag] = next.Host,
            [ServerPortTag] = next.Port,
        }));
    }

    /// <summary>Sends one attempt, recording it as an event of the fetch span when there is one.</summary>
    public static Task<HttpResponseMessage> AttemptAsync(int attempt, Func<Task<HttpResponseMessage>> send)
    {
        ArgumentNullException.ThrowIfNull(send);
        return CurrentFetch() is { } activity ? TracedAttemptAsync(activity, attempt, send) : send();
    }

    private static async Task<HttpResponseMessage> TracedAttemptAsync(Activity activity, int attempt, Func<Task<HttpResponseMessage>> send)
    {
        var tags = new ActivityTagsCollection { [AttemptTag] = attempt };
        try
        {
            var response = await send().ConfigureAwait(false);
            tags[StatusCodeTag] = (int)response.StatusCode;
            return response;
        }
        catch (Exception ex)
        {
            tags[ErrorTypeTag] = ex.GetType().FullName;
            throw;
        }
        finally
        {
            activity.AddEvent(new ActivityEvent(AttemptEvent, tags: tags));
        }
    }

    // ---- Metrics of each URL (batch fetcher), the resilience pipeline and storage ----

    private bool UrlInstrumentsEnabled => _urls.Enabled || _bytes.Enabled || _attempts.Enabled || _fetchDuration.Enabled || _blocked.Enabled;

    /// <summary>Records the URL's result once <paramref name="fetch"/> completes; returns it as it is when no one listens.</summary>
    public Task<UrlResult> Recorded(Task<UrlResult> fetch) => UrlInstrumentsEnabled ? RecordAsync(fetch) : fetch;

    private async Task<UrlResult> RecordAsync(Task<UrlResult> fetch)
    {
        var result = await fetch.ConfigureAwait(false);
        Record(result);
        return result;
    }

    internal void Record(UrlResult result)
    {
        if (_urls.Enabled)
        {
            _urls.Add(1, new KeyValuePair<string, object?>(OutcomeTag, UrlOutcome.Of(result.Status, result.ErrorKind)));
        }

        if (_bytes.Enabled && result.Bytes > 0)
        {
            _bytes.Add(result.Bytes);
        }

        if (_attempts.Enabled && result.Attempts > 0)
        {
            _attempts.Add(result.Attempts);
        }

        if (_fetchDuration.Enabled && result.Started)
        {
            _fetchDuration.Record(result.DurationMs / 1000, new KeyValuePair<string, object?>(ServerAddressTag, _hosts.Label(result.Host)));
        }

        if (_blocked.Enabled && result.ErrorKind is FetchErrorKind.DisallowedByRobots or FetchErrorKind.BlockedByPolicy)
        {
            _blocked.Add(1, new KeyValuePair<string, object?>(BlockReasonTag, result.ErrorKind is FetchErrorKind.DisallowedByRobots ? "robots" : "policy"));
        }
    }

    public void Retried(Uri? url)
    {
        if (_retries.Enabled)
        {
            _retries.Add(1, new KeyValuePair<string, object?>(ServerAddressTag, HostLabel(url)));
        }
    }

    /// <summary>A host's breaker changed state: "open", "half_open" or "closed".</summary>
    public void BreakerChanged(Uri? url, string state)
    {
        if (_breaker.Enabled)
        {
            _breaker.Add(1, new KeyValuePair<string, object?>(BreakerStateTag, state), new KeyValuePair<string, object?>(ServerAddressTag, HostLabel(url)));
        }
    }

    /// <summary>A storage request failed in a way storage's retry handles; <paramref name="retrying"/> false when it gave up.</summary>
    public void StorageFailed(int status, Exception? exception, bool retrying)
    {
        if (_storageErrors.Enabled)
        {
            var type = status > 0 ? status.ToString(CultureInfo.InvariantCulture) : exception?.GetType().FullName ?? "unknown";
            _storageErrors.Add(1, new KeyValuePair<string, object?>(StorageOutcomeTag, retrying ? "retried" : "gave_up"),
                new KeyValuePair<string, object?>(ErrorTypeTag, type));
        }
    }

    // The host, as server.address is and as the fetch duration labels it: one label (and one slot of the cap) per host,
    // not one per host and port.
    private string HostLabel(Uri? url) => url is null ? HostLabelCap.Other : _hosts.Label(url.Host);
}
