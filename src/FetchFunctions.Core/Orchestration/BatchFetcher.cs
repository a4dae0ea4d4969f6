using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Telemetry;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The limits one batch is fetched under. <see cref="Deadline"/> counts from the start of the batch: no fetch
/// starts after it, and fetches still running are stopped.</summary>
internal sealed record BatchLimits(int MaxConcurrency, int MaxConcurrencyPerHost, TimeSpan PerHostDelay, TimeSpan Deadline);

/// <summary>Fetches the URLs of one batch through the engine: at most <see cref="BatchLimits.MaxConcurrency"/> in
/// flight, at most <see cref="BatchLimits.MaxConcurrencyPerHost"/> per host, starts of one host at least
/// <see cref="BatchLimits.PerHostDelay"/> apart, and nothing past <see cref="BatchLimits.Deadline"/>. Every URL gets
/// exactly one result, in the order given. Each origin's <see cref="HostPoliteness"/> (robots.txt, Crawl-delay,
/// back-off on 429/503) comes from the host directory when the URL's turn comes: a disallowed URL is never requested.
/// The first start of each host also waits its delay, counted from the batch's start: a lane's batches run one after
/// another, so the delay holds across them too.</summary>
internal sealed class BatchFetcher(IFetchEngine engine, TimeProvider timeProvider, CrawlTelemetry? telemetry = null)
{
    public Task<UrlResult[]> FetchAsync(string jobId, IReadOnlyList<string> urls, FetchPolicy policy, BatchLimits limits,
        CancellationToken cancellationToken) => FetchAsync(jobId, urls, policy, limits, null, cancellationToken);

    /// <summary>Fetches under <paramref name="hosts"/>' robots.txt rules and back-off state; without it, no robots.txt
    /// and a back-off that lasts this batch only.</summary>
    public Task<UrlResult[]> FetchAsync(string jobId, IReadOnlyList<string> urls, FetchPolicy policy, BatchLimits limits,
        IHostDirectory? hosts, CancellationToken cancellationToken) => FetchAsync(jobId, urls, policy, limits, hosts, null, cancellationToken);

    /// <summary>As above, with the bodies going to <paramref name="sink"/> (the batch's WARC writer) instead of the
    /// engine's own sink (the blobs store) when given.</summary>
    public async Task<UrlResult[]> FetchAsync(string jobId, IReadOnlyList<string> urls, FetchPolicy policy, BatchLimits limits,
        IHostDirectory? hosts, IRecordSink? sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(limits);
        using var deadline = new CancellationTokenSource(limits.Deadline, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var slots = new SemaphoreSlim(limits.MaxConcurrency, limits.MaxConcurrency);
        var gates = new Dictionary<string, HostGate>(StringComparer.Ordinal);
        // Without a directory (no job store): no robots.txt, and the back-off capped at Crawl:MaxCrawlDelay's default.
        var politeness = new Politeness(hosts ?? new TransientHostDirectory(limits.MaxConcurrencyPerHost, TimeSpan.FromSeconds(10)), slots, limits, timeProvider);
        try
        {
            var fetches = new Task<UrlResult>[urls.Count];
            for (var i = 0; i < urls.Count; i++)
            {
                var host = UrlNormaliser.HostOf(urls[i]).ToString();
                if (!gates.TryGetValue(host, out var gate))
                {
                    gate = new HostGate(limits.MaxConcurrencyPerHost, limits.PerHostDelay, timeProvider);
                    gates.Add(host, gate);
                }

                fetches[i] = FetchOneAsync(jobId, urls[i], host, gate);
                fetches[i] = telemetry?.Recorded(fetches[i]) ?? fetches[i];
            }

            return await Task.WhenAll(fetches).ConfigureAwait(false);
        }
        finally
        {
            foreach (var gate in gates.Values)
            {
                gate.Dispose();
            }
        }

        async Task<UrlResult> FetchOneAsync(string jobId, string url, string host, HostGate gate)
        {
            var started = false;
            var startedAt = timeProvider.GetTimestamp();
            try
            {
                var uri = new Uri(url, UriKind.Absolute);
                var origin = await politeness.ForAsync(url, gate, linked.Token).ConfigureAwait(false);
                if (origin.DisallowReason(uri) is { } disallowed)
                {
                    return UrlResult.Failure(url, host, FetchErrorKind.DisallowedByRobots, disallowed, false, TimeSpan.Zero);
                }

                await origin.Throttle.EnterAsync(linked.Token).ConfigureAwait(false);
                try
                {
                    // The host's slot first: URLs of a busy host wait without holding one of the batch's slots.
                    await gate.Slots.WaitAsync(linked.Token).ConfigureAwait(false);
                    try
                    {
                        await gate.WaitTurnAsync(origin.DelayAtLeast(limits.PerHostDelay), timeProvider, linked.Token).ConfigureAwait(false);
                        await slots.WaitAsync(linked.Token).ConfigureAwait(false);
                        try
                        {
                            await gate.MarkStartAsync(origin.DelayAtLeast(limits.PerHostDelay), timeProvider, linked.Token).ConfigureAwait(false);
                            started = true;
                            startedAt = timeProvider.GetTimestamp();
                            var result = await engine.FetchAsync(new FetchRequest(uri, BlobNames.Body(jobId, uri), policy, sink), linked.Token).ConfigureAwait(false);
                            origin.Throttle.Record(result.StatusCode);
                            return UrlResult.From(result, host);
                        }
                        finally
                        {
                            slots.Release();
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
        }

        bool DeadlinePassed() => deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested;

        UrlResult StoppedAtDeadline(string url, string host, bool started, long startedAt) => UrlResult.Failure(url, host, FetchErrorKind.Timeout,
            started
                ? $"Stopped at the batch deadline ({limits.Deadline.TotalSeconds:0.###} s) before the fetch finished."
                : $"Not started: the batch deadline ({limits.Deadline.TotalSeconds:0.###} s) came first.",
            started, started ? timeProvider.GetElapsedTime(startedAt) : TimeSpan.Zero);
    }

    /// <summary>Finds each origin's politeness once per batch. robots.txt, when the directory fetches it, takes one of the
    /// batch's slots, and counts as a start of its host for the host's delay.</summary>
    private sealed class Politeness(IHostDirectory hosts, SemaphoreSlim slots, BatchLimits limits, TimeProvider timeProvider)
    {
        private readonly Dictionary<string, Task<HostPoliteness>> _byOrigin = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public Task<HostPoliteness> ForAsync(string url, HostGate gate, CancellationToken cancellationToken)
        {
            var origin = HostPoliteness.OriginOf(url);
            lock (_lock)
            {
                if (!_byOrigin.TryGetValue(origin, out var found))
                {
                    found = OpenAsync(origin, gate, cancellationToken);
                    _byOrigin.Add(origin, found);
                }

                return found;
            }
        }

        private async Task<HostPoliteness> OpenAsync(string origin, HostGate gate, CancellationToken cancellationToken)
        {
            HostPoliteness host;
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                host = await hosts.GetAsync(origin, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
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

        // The previous batch of the host's lane may have started a fetch just before it ended: the batch's start counts
        // as the host's last start, so the first fetch waits the host's delay (Crawl-delay included) too.
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
        /// <paramref name="delay"/> ago: a turn reserved on time can still start late (after waiting for a batch slot, or
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
