using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Telemetry;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The limits one lane call is fetched under. <see cref="Deadline"/> counts from the start of the call: no fetch
/// starts after it, and fetches still running are stopped.</summary>
internal sealed record LaneLimits(int MaxConcurrency, int MaxConcurrencyPerHost, TimeSpan PerHostDelay, TimeSpan Deadline);

/// <summary>Fetches the URLs of one lane call through the engine, under ONE set of host gates for all the call's
/// batches (see <see cref="HostQueues"/>), so a host's next URL starts as soon as one of its slots frees, whichever
/// batch it belongs to.</summary>
internal sealed class LaneFetcher(IFetchEngine engine, TimeProvider timeProvider, CrawlTelemetry? telemetry = null)
{
    /// <summary>Opens the host queues of one lane call; <paramref name="hosts"/> gives robots.txt rules and back-off state
    /// (without it, no robots.txt and a back-off that lasts this call only).</summary>
    public HostQueues Open(string jobId, FetchPolicy policy, LaneLimits limits, IHostDirectory? hosts, CancellationToken cancellationToken) =>
        new(engine, timeProvider, telemetry, jobId, policy, limits, hosts, cancellationToken);

    /// <summary>Fetches one list of URLs as a lane of one batch: every URL gets exactly one result, in the order given.</summary>
    public async Task<UrlResult[]> FetchAsync(string jobId, IReadOnlyList<string> urls, FetchPolicy policy, LaneLimits limits,
        IHostDirectory? hosts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(urls);
        using var queues = Open(jobId, policy, limits, hosts, cancellationToken);
        var fetches = new Task<UrlResult>[urls.Count];
        for (var i = 0; i < urls.Count; i++)
        {
            fetches[i] = queues.FetchAsync(urls[i]);
        }

        return await Task.WhenAll(fetches).ConfigureAwait(false);
    }

    public Task<UrlResult[]> FetchAsync(string jobId, IReadOnlyList<string> urls, FetchPolicy policy, LaneLimits limits,
        CancellationToken cancellationToken) => FetchAsync(jobId, urls, policy, limits, null, cancellationToken);
}

/// <summary>The host queues of one lane call: at most <see cref="LaneLimits.MaxConcurrency"/> fetches in flight, at most
/// <see cref="LaneLimits.MaxConcurrencyPerHost"/> per host, starts of one host at least <see cref="LaneLimits.PerHostDelay"/>
/// apart, and nothing past <see cref="LaneLimits.Deadline"/>. URLs may be added at any time (<see cref="FetchAsync"/>);
/// each waits for its host's next free slot. Each origin's <see cref="HostPoliteness"/> (robots.txt, Crawl-delay,
/// back-off on 429/503) comes from the host directory when the URL's turn comes: a disallowed URL is never requested.
/// The first start of each host also waits its delay, counted from the call's start: the lane's previous call may have
/// just started one. Dispose only after every fetch has ended.</summary>
internal sealed class HostQueues : IDisposable
{
    private readonly IFetchEngine _engine;
    private readonly TimeProvider _time;
    private readonly CrawlTelemetry? _telemetry;
    private readonly string _jobId;
    private readonly FetchPolicy _policy;
    private readonly LaneLimits _limits;
    private readonly CancellationToken _caller;
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _linked;
    private readonly SemaphoreSlim _slots;
    private readonly Dictionary<string, HostGate> _gates = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly Politeness _politeness;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;
    private int _inFlight;

    internal HostQueues(IFetchEngine engine, TimeProvider time, CrawlTelemetry? telemetry, string jobId, FetchPolicy policy, LaneLimits limits,
        IHostDirectory? hosts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(limits);
        _engine = engine;
        _time = time;
        _telemetry = telemetry;
        _jobId = jobId;
        _policy = policy;
        _limits = limits;
        _caller = cancellationToken;
        _deadline = new CancellationTokenSource(limits.Deadline, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
        _slots = new SemaphoreSlim(limits.MaxConcurrency, limits.MaxConcurrency);
        // Without a directory (no job store): no robots.txt, and the back-off capped at Crawl:MaxCrawlDelay's default.
        _politeness = new Politeness(hosts ?? new TransientHostDirectory(limits.MaxConcurrencyPerHost, TimeSpan.FromSeconds(10)), _slots, limits, time);
    }

    /// <summary>URLs added and not yet started (waiting for robots.txt, a slot, or their host's turn).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Fetches in flight at the engine.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Completes at the next start or end of a URL. Take it before looking at <see cref="Waiting"/> or at fetches,
    /// so that no change in between is missed.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Stops every fetch: running ones end as the caller's cancellation ends them.</summary>
    public Task StopAsync() => _linked.CancelAsync();

    /// <summary>Adds a URL; its result comes when it is fetched, disallowed or stopped at the deadline. Its body goes to
    /// <paramref name="sink"/> (its batch's WARC writer) when given, else to the engine's own sink (the blobs store);
    /// <paramref name="links"/> reads its links for discovery.</summary>
    public Task<UrlResult> FetchAsync(string url, IRecordSink? sink = null, Discovery.PageLinkCapture? links = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        var host = UrlNormaliser.HostOf(url).ToString();
        var gate = GateOf(host);
        Interlocked.Increment(ref _waiting);
        var fetch = FetchOneAsync(url, host, gate, sink, links);
        return _telemetry?.Recorded(fetch) ?? fetch;
    }

    public void Dispose()
    {
        foreach (var gate in _gates.Values)
        {
            gate.Dispose();
        }

        _slots.Dispose();
        _linked.Dispose();
        _deadline.Dispose();
    }

    private HostGate GateOf(string host)
    {
        lock (_lock)
        {
            if (!_gates.TryGetValue(host, out var gate))
            {
                gate = new HostGate(_limits.MaxConcurrencyPerHost, _limits.PerHostDelay, _time);
                _gates.Add(host, gate);
            }

            return gate;
        }
    }

    /// <summary>Why a redirect to <paramref name="next"/> must not be followed: its origin's robots.txt (read now if the
    /// call has not met that origin yet, without taking a slot: the redirected fetch holds one already) disallows it.</summary>
    private async Task<string?> RedirectDisallowedAsync(Uri next, CancellationToken cancellationToken)
    {
        var url = next.AbsoluteUri;
        // The lookup is shared by every later URL of that origin: it runs under the call's token, not this fetch's deadline.
        var origin = await _politeness.ForAsync(url, GateOf(UrlNormaliser.HostOf(url).ToString()), _linked.Token, holdsSlot: true)
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        return origin.DisallowReason(next);
    }

    private void Pulse() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task<UrlResult> FetchOneAsync(string url, string host, HostGate gate, IRecordSink? sink, Discovery.PageLinkCapture? links)
    {
        var started = false;
        var startedAt = _time.GetTimestamp();
        var token = _linked.Token;
        try
        {
            var uri = new Uri(url, UriKind.Absolute);
            var origin = await _politeness.ForAsync(url, gate, token).ConfigureAwait(false);
            if (origin.DisallowReason(uri) is { } disallowed)
            {
                return UrlResult.Failure(url, host, FetchErrorKind.DisallowedByRobots, disallowed, false, TimeSpan.Zero);
            }

            await origin.Throttle.EnterAsync(token).ConfigureAwait(false);
            try
            {
                // The host's slot first: URLs of a busy host wait without holding one of the call's slots.
                await gate.Slots.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    await gate.WaitTurnAsync(origin.DelayAtLeast(_limits.PerHostDelay), _time, token).ConfigureAwait(false);
                    await _slots.WaitAsync(token).ConfigureAwait(false);
                    try
                    {
                        await gate.MarkStartAsync(origin.DelayAtLeast(_limits.PerHostDelay), _time, token).ConfigureAwait(false);
                        started = true;
                        startedAt = _time.GetTimestamp();
                        Interlocked.Increment(ref _inFlight);
                        Interlocked.Decrement(ref _waiting);
                        Pulse();
                        try
                        {
                            var result = await _engine.FetchAsync(new FetchRequest(uri, BlobNames.Body(_jobId, uri), _policy, sink, links)
                            {
                                RedirectDisallowed = RedirectDisallowedAsync,
                            }, token).ConfigureAwait(false);
                            origin.Throttle.Record(result.StatusCode);
                            return UrlResult.From(result, host);
                        }
                        finally
                        {
                            Interlocked.Decrement(ref _inFlight);
                        }
                    }
                    finally
                    {
                        _slots.Release();
                    }
                }
                finally
                {
                    gate.Slots.Release();
                }
            }
            finally
            {
                origin.Throttle.Exit();
            }
        }
        catch (OperationCanceledException) when (DeadlinePassed())
        {
            return StoppedAtDeadline(url, host, started, startedAt);
        }
        finally
        {
            if (!started)
            {
                Interlocked.Decrement(ref _waiting);
            }

            Pulse();
        }
    }

    private bool DeadlinePassed() => _deadline.IsCancellationRequested && !_caller.IsCancellationRequested;

    private UrlResult StoppedAtDeadline(string url, string host, bool started, long startedAt) => UrlResult.Failure(url, host, FetchErrorKind.Timeout,
        started
            ? $"Stopped at the batch deadline ({_limits.Deadline.TotalSeconds:0.###} s) before the fetch finished."
            : $"Not started: the batch deadline ({_limits.Deadline.TotalSeconds:0.###} s) came first.",
        started, started ? _time.GetElapsedTime(startedAt) : TimeSpan.Zero);

    /// <summary>Finds each origin's politeness once per lane call. robots.txt, when the directory fetches it, takes one of the
    /// call's slots, and counts as a start of its host for the host's delay.</summary>
    private sealed class Politeness(IHostDirectory hosts, SemaphoreSlim slots, LaneLimits limits, TimeProvider timeProvider)
    {
        private readonly Dictionary<string, Task<HostPoliteness>> _byOrigin = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        /// <param name="url">The URL whose origin's politeness is wanted.</param>
        /// <param name="gate">The gate of the URL's host, which a robots.txt fetched now counts as a start of.</param>
        /// <param name="cancellationToken">Stops the lookup.</param>
        /// <param name="holdsSlot">The caller holds one of the call's slots already (a redirected fetch): robots.txt is then
        /// fetched without waiting for another, which could wait for ever while every slot's fetch did the same.</param>
        public Task<HostPoliteness> ForAsync(string url, HostGate gate, CancellationToken cancellationToken, bool holdsSlot = false)
        {
            var origin = HostPoliteness.OriginOf(url);
            lock (_lock)
            {
                if (!_byOrigin.TryGetValue(origin, out var found))
                {
                    found = OpenAsync(origin, gate, holdsSlot, cancellationToken);
                    _byOrigin.Add(origin, found);
                }

                return found;
            }
        }

        private async Task<HostPoliteness> OpenAsync(string origin, HostGate gate, bool holdsSlot, CancellationToken cancellationToken)
        {
            HostPoliteness host;
            if (holdsSlot)
            {
                host = await hosts.GetAsync(origin, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    host = await hosts.GetAsync(origin, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    slots.Release();
                }
            }

            if (host.FetchedRobotsNow)
            {
                gate.RecordStart(host.DelayAtLeast(limits.PerHostDelay), timeProvider);
            }

            return host;
        }
    }

    /// <summary>Per-host limits: a semaphore for concurrency and the earliest time the next fetch may start.</summary>
    private sealed class HostGate(int maxConcurrency, TimeSpan delay, TimeProvider time) : IDisposable
    {
        private readonly Lock _lock = new();

        // The lane's previous call may have started a fetch of the host just before it ended: this call's start counts as
        // the host's last start, so the first fetch waits the host's delay (Crawl-delay included) too.
        private long _nextStart = time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);
        private long _lastStart = time.GetTimestamp();

        public SemaphoreSlim Slots { get; } = new(maxConcurrency, maxConcurrency);

        /// <summary>Reserves the next start time of this host and waits for it.</summary>
        public async Task WaitTurnAsync(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
        {
            if (delay <= TimeSpan.Zero)
            {
                return;
            }

            long wait;
            lock (_lock)
            {
                var now = time.GetTimestamp();
                var start = Math.Max(now, _nextStart);
                _nextStart = start + (long)(delay.TotalSeconds * time.TimestampFrequency);
                wait = start - now;
            }

            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds((double)wait / time.TimestampFrequency), time, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Records a request of the host that has already been made (robots.txt, counted from when it ended, which
        /// errs on the polite side): the next fetch waits <paramref name="delay"/> after it.</summary>
        public void RecordStart(TimeSpan delay, TimeProvider time)
        {
            lock (_lock)
            {
                var now = time.GetTimestamp();
                _lastStart = Math.Max(_lastStart, now);
                _nextStart = Math.Max(_nextStart, now + (delay <= TimeSpan.Zero ? 0 : (long)(delay.TotalSeconds * time.TimestampFrequency)));
            }
        }

        /// <summary>Marks a fetch's actual start, first waiting while the host's previous actual start is less than
        /// <paramref name="delay"/> ago: a turn reserved on time can still start late (after waiting for a slot of the call, or
        /// on a busy machine), and the next turn, reserved from the planned time, must not then come too close.</summary>
        public async Task MarkStartAsync(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
        {
            while (true)
            {
                long wait;
                lock (_lock)
                {
                    var now = time.GetTimestamp();
                    var ticks = delay <= TimeSpan.Zero ? 0 : (long)(delay.TotalSeconds * time.TimestampFrequency);
                    wait = _lastStart + ticks - now;
                    if (wait <= 0)
                    {
                        _lastStart = now;
                        _nextStart = Math.Max(_nextStart, now + ticks);
                        return;
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds((double)wait / time.TimestampFrequency), time, cancellationToken).ConfigureAwait(false);
            }
        }

        public void Dispose() => Slots.Dispose();
    }
}
