using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Orchestration;

/// <summary>The limits one batch is fetched under. <see cref="Deadline"/> counts from the start of the batch: no fetch
/// starts after it, and fetches still running are stopped.</summary>
internal sealed record BatchLimits(int MaxConcurrency, int MaxConcurrencyPerHost, TimeSpan PerHostDelay, TimeSpan Deadline);

/// <summary>Fetches the URLs of one batch through the engine: at most <see cref="BatchLimits.MaxConcurrency"/> in
/// flight, at most <see cref="BatchLimits.MaxConcurrencyPerHost"/> per host, starts of one host at least
/// <see cref="BatchLimits.PerHostDelay"/> apart, and nothing past <see cref="BatchLimits.Deadline"/>. Every URL gets
/// exactly one result, in the order given. The first start of each host also waits the delay, counted from the batch's
/// start: a lane's batches run one after another, so the delay holds across them too.</summary>
internal sealed class BatchFetcher(IFetchEngine engine, TimeProvider timeProvider)
{
    public async Task<UrlResult[]> FetchAsync(string jobId, IReadOnlyList<string> urls, FetchPolicy policy, BatchLimits limits,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(limits);
        using var deadline = new CancellationTokenSource(limits.Deadline, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var slots = new SemaphoreSlim(limits.MaxConcurrency, limits.MaxConcurrency);
        var gates = new Dictionary<string, HostGate>(StringComparer.Ordinal);
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
                // The host's slot first: URLs of a busy host wait without holding one of the batch's slots.
                await gate.Slots.WaitAsync(linked.Token).ConfigureAwait(false);
                try
                {
                    await gate.WaitTurnAsync(limits.PerHostDelay, timeProvider, linked.Token).ConfigureAwait(false);
                    await slots.WaitAsync(linked.Token).ConfigureAwait(false);
                    try
                    {
                        started = true;
                        startedAt = timeProvider.GetTimestamp();
                        var uri = new Uri(url, UriKind.Absolute);
                        var result = await engine.FetchAsync(new FetchRequest(uri, BlobNames.Body(jobId, uri), policy), linked.Token).ConfigureAwait(false);
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

    /// <summary>Per-host limits: a semaphore for concurrency and the earliest time the next fetch may start.</summary>
    private sealed class HostGate(int maxConcurrency, TimeSpan delay, TimeProvider time) : IDisposable
    {
        private readonly Lock _lock = new();

        // The previous batch of the host's lane may have started a fetch just before it ended.
        private long _nextStart = time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);

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

        public void Dispose() => Slots.Dispose();
    }
}
