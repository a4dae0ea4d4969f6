using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Telemetry;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Orchestration;

/// <summary>One call of a lane: fetches the lane's URLs continuously through one set of host queues, reading batch
/// manifests as it goes, keeps at most Crawl:LaneBatchesOpen batches open, and commits each batch as soon as all its
/// URLs are done (results blob last: a results blob of the plan means the batch is done), in any order. It opens no
/// batch after Crawl:LaneBudget, lets the open ones finish, and returns only when every batch it opened is committed,
/// so its cursor (one past the last batch it opened) is exact. A batch whose results of the same plan are stored is
/// read back instead (a resumed run, a retried call): nothing committed is fetched again.</summary>
internal sealed partial class LaneActivity
{
    private readonly LaneFetcher _fetcher;
    private readonly JobStore _store;
    private readonly JobHosts _jobHosts;
    private readonly IOptions<FetchOptions> _fetchOptions;
    private readonly IOptions<CrawlOptions> _crawlOptions;
    private readonly TimeProvider _time;
    private readonly ILogger<LaneActivity> _logger;
    private readonly CrawlTelemetry _telemetry;
    private readonly WarcStore _warcStore;

    public LaneActivity(LaneFetcher fetcher, JobStore store, JobHosts jobHosts, IOptions<FetchOptions> fetchOptions, IOptions<CrawlOptions> crawlOptions,
        TimeProvider timeProvider, ILogger<LaneActivity> logger, CrawlTelemetry telemetry, WarcStore warcStore)
    {
        _warcStore = warcStore;
        _fetcher = fetcher;
        _store = store;
        _jobHosts = jobHosts;
        _fetchOptions = fetchOptions;
        _crawlOptions = crawlOptions;
        _time = timeProvider;
        _logger = logger;
        _telemetry = telemetry;
    }

    public async Task<LaneProgress> RunAsync(LaneWork lane, IProgress<BatchStats>? committed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lane);
        if (lane.BatchCount < 1 || lane.FromBatch < lane.FirstBatch || lane.FromBatch >= lane.EndBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(lane), $"Lane [{lane.FirstBatch}, {lane.EndBatch}) has no batch {lane.FromBatch} to start from.");
        }

        using var span = CrawlTelemetry.StartLane(lane);
        var call = new Call(this, lane, committed, _time.GetTimestamp());
        try
        {
            return await call.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CrawlTelemetry.Failed(span, ex))
        {
            throw;
        }
    }

    /// <summary>A batch started and not yet committed: its URLs' fetches, in manifest order, and its WARC writer (null for
    /// the blobs store).</summary>
    private sealed class OpenBatch(int index, Task<UrlResult>[] fetches, Activity? span, long openedAt, WarcBatchWriter? records,
        LinkLogWriter? links, string?[]? foundOn)
    {
        public int Index { get; } = index;
        public WarcBatchWriter? Records { get; } = records;

        /// <summary>The batch's link log, when its pages' links make the next round of discovery.</summary>
        public LinkLogWriter? Links { get; } = links;

        /// <summary>Where each URL was found (null for the job's own), for a job that discovers links; null otherwise.</summary>
        public string?[]? FoundOn { get; } = foundOn;
        public Task<UrlResult[]> Done { get; } = Task.WhenAll(fetches);
        public Activity? Span { get; } = span;
        public long OpenedAt { get; } = openedAt;
    }

    private sealed class Call(LaneActivity owner, LaneWork lane, IProgress<BatchStats>? committed, long startedAt)
    {
        private readonly CrawlOptions _crawl = owner._crawlOptions.Value;
        private readonly List<OpenBatch> _open = [];
        private readonly List<Task<BatchStats>> _committing = [];
        private HostQueues? _queues;
        private JobHosts.BatchHosts? _hosts;
        private LaneLimits? _limits;
        private StoredJob? _job;
        private FetchPolicy? _policy;
        private HtmlLinkExtractor? _extractor;
        private BatchStats _stats = BatchStats.Empty;
        private int _next = lane.FromBatch;

        public async Task<LaneProgress> RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (true)
                {
                    // Taken before looking at the batches and the queues, so a change in between wakes the wait below.
                    var changed = _queues?.Changed;
                    for (var i = 0; i < _committing.Count; i++)
                    {
                        if (_committing[i].IsCompleted)
                        {
                            Committed(await _committing[i].ConfigureAwait(false));
                            _committing.RemoveAt(i--);
                        }
                    }

                    // Batches commit side by side and while others fetch: a slow store holds up no fetch.
                    for (var i = 0; i < _open.Count; i++)
                    {
                        if (_open[i].Done.IsCompleted)
                        {
                            _committing.Add(CommitBatchAsync(_open[i], cancellationToken));
                            _open.RemoveAt(i--);
                        }
                    }

                    while (MayOpen())
                    {
                        var index = _next++;
                        if (await KeptAsync(index, cancellationToken).ConfigureAwait(false) is { } kept)
                        {
                            Committed(kept);
                            continue;
                        }

                        _open.Add(await OpenBatchAsync(index, cancellationToken).ConfigureAwait(false));
                        changed = null;
                    }

                    if (_open.Count == 0 && _committing.Count == 0)
                    {
                        break;
                    }

                    if (changed is not null)
                    {
                        // A URL's last pulse comes just before its result: its batch's completion wakes the wait too.
                        await Task.WhenAny(_open.Select(b => (Task)b.Done).Concat(_committing).Append(changed)).WaitAsync(cancellationToken)
                            .ConfigureAwait(false);
                    }
                }

                if (_hosts is not null)
                {
                    await _hosts.SaveAsync(cancellationToken).ConfigureAwait(false);
                }

                LogLaneCallDone(owner._logger, lane.JobId, lane.FirstBatch, lane.EndBatch, lane.FromBatch, _stats.Batches, _next);
                return new LaneProgress(_stats, _next);
            }
            finally
            {
                if (_queues is not null)
                {
                    // Only on failure is anything still open or committing: stop the fetches and wait, so none outlives the call.
                    if (_open.Count > 0 || _committing.Count > 0)
                    {
                        await _queues.StopAsync().ConfigureAwait(false);
                        await Task.WhenAll(_open.Select(b => (Task)b.Done).Concat(_committing)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        foreach (var batch in _open)
                        {
                            batch.Span?.Dispose();
                            batch.Links?.Dispose();
                            if (batch.Records is not null)
                            {
                                await batch.Records.DisposeAsync().ConfigureAwait(false);
                            }
                        }
                    }

                    _queues.Dispose();
                }
            }
        }

        /// <summary>Whether the next batch may be opened now: the lane has one, fewer than Crawl:LaneBatchesOpen are open
        /// (committing ones included),
        /// the queues are short of work (fewer URLs waiting to start than the call's slots: batches are read only as fast
        /// as they are fetched, so a call's open work stays small when its budget comes), and the budget has not passed
        /// (the first batch of a call always opens, so every call makes progress).</summary>
        private bool MayOpen()
        {
            if (_next >= lane.EndBatch || _open.Count + _committing.Count >= _crawl.LaneBatchesOpen)
            {
                return false;
            }

            if (_queues is not null && _limits is not null && _queues.Waiting >= _limits.MaxConcurrency)
            {
                return false;
            }

            return _next == lane.FromBatch || owner._time.GetElapsedTime(startedAt) < _crawl.LaneBudget;
        }

        private void Committed(BatchStats stats)
        {
            _stats = BatchStats.Merge(_stats, stats);
            committed?.Report(stats);
        }

        private async Task<BatchStats?> KeptAsync(int index, CancellationToken cancellationToken)
        {
            if (lane.PlanId is not { } planId
                || await owner._store.ReadBatchResultsAsync(lane.JobId, index, planId, cancellationToken).ConfigureAwait(false) is not { } stored)
            {
                return null;
            }

            using var span = CrawlTelemetry.StartBatch(lane.JobId, index);
            CrawlTelemetry.BatchKept(span);
            LogBatchKept(owner._logger, lane.JobId, index, stored.Count);
            return BatchStatsBuilder.From(stored);
        }

        /// <summary>Opens batch <paramref name="index"/>: reads its URLs from the manifest and adds them to the host queues.
        /// A per-batch writer (bodies packed per batch) opens here, before the batch's first fetch.</summary>
        private async Task<OpenBatch> OpenBatchAsync(int index, CancellationToken cancellationToken)
        {
            var queues = _queues ?? await StartAsync(cancellationToken).ConfigureAwait(false);
            var manifest = await owner._store.ReadBatchManifestAsync(lane.JobId, index, lane.BatchesPerShard, lane.PlanId, cancellationToken).ConfigureAwait(false);
            var openedAt = owner._time.GetTimestamp();
            // The batch's span is the parent of its fetch spans: current while they start, then the lane's again.
            var previous = Activity.Current;
            var span = CrawlTelemetry.StartBatch(lane.JobId, index);
            var fetches = new Task<UrlResult>[manifest.Urls.Count];
            // The WARC store's commit unit is the batch: its files, then its index part, then its results.
            var records = _job!.Settings.EffectiveStore == StoreKinds.Warc ? owner._warcStore.Open(_job, index, _policy!) : null;
            var discovery = _job.Settings.Discovery;
            // Links are read from pages whose links could still be followed; the log is committed with the batch.
            var links = discovery is not null && lane.Depth < discovery.MaxDepth
                ? new LinkLogWriter(owner._store.CreateTextWriter(FrontierBlobNames.Links(lane.JobId, index)))
                : null;
            var foundOn = discovery is null ? null : new string?[fetches.Length];
            try
            {
                for (var i = 0; i < fetches.Length; i++)
                {
                    // A discovered URL's manifest line also says where it was found.
                    var line = manifest.Urls[i];
                    var tab = line.IndexOf('\t', StringComparison.Ordinal);
                    var url = tab < 0 ? line : line[..tab];
                    if (foundOn is not null && tab >= 0)
                    {
                        foundOn[i] = line[(tab + 1)..];
                    }

                    fetches[i] = links is null
                        ? queues.FetchAsync(url, records)
                        : FetchWithLinksAsync(queues, url, records, new PageLinkCapture(_extractor!, links, discovery!, lane.Depth, _crawl.LinkParseBytes,
                            _crawl.MaxUrlLength, _crawl.AllowedPorts));
                }
            }
            finally
            {
                Activity.Current = previous;
            }

            return new OpenBatch(index, fetches, span, openedAt, records, links, foundOn);
        }

        private static async Task<UrlResult> FetchWithLinksAsync(HostQueues queues, string url, IRecordSink? records, PageLinkCapture links)
        {
            using (links)
            {
                return await queues.FetchAsync(url, records, links).ConfigureAwait(false);
            }
        }

        /// <summary>Commits a batch whose URLs are all done: its results blob, one line per URL in manifest order, tagged
        /// with the plan. A per-batch writer commits here, before the results upload.</summary>
        private async Task<BatchStats> CommitBatchAsync(OpenBatch batch, CancellationToken cancellationToken)
        {
            using var span = batch.Span;
            await using var records = batch.Records;
            using var links = batch.Links;
            var results = await batch.Done.ConfigureAwait(false);
            if (records is not null)
            {
                await records.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (links is not null)
            {
                // Before the results: a batch whose results are stored has its links logged (even none: a re-run batch
                // replaces what an earlier attempt logged).
                await links.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (batch.FoundOn is { } foundOn)
            {
                for (var i = 0; i < results.Length; i++)
                {
                    results[i] = results[i] with { Depth = lane.Depth, FoundOn = foundOn[i] };
                }
            }

            await owner._store.UploadAsync(BlobNames.BatchResults(lane.JobId, batch.Index), Ndjson(results), JobStore.NdjsonContentType, lane.PlanId,
                cancellationToken).ConfigureAwait(false);
            var stats = BatchStatsBuilder.From(results, _hosts?.SlowedHosts());
            var elapsed = owner._time.GetElapsedTime(batch.OpenedAt);
            owner._telemetry.BatchDone(span, stats, elapsed);
            LogBatchDone(owner._logger, lane.JobId, batch.Index, stats.Urls, stats.Failed, elapsed.TotalMilliseconds);
            return stats;
        }

        /// <summary>Reads the job and opens the call's host queues, when the call first has a batch to fetch.</summary>
        private async Task<HostQueues> StartAsync(CancellationToken cancellationToken)
        {
            var job = await owner._store.ReadJobAsync(BlobNames.Job(lane.JobId), cancellationToken).ConfigureAwait(false);
            _job = job;
            var settings = job.Settings;
            _limits = new LaneLimits(
                Math.Min(settings.MaxConcurrency, _crawl.MaxConcurrency),
                Math.Min(settings.MaxConcurrencyPerHost, _crawl.MaxConcurrencyPerHost),
                settings.PerHostDelay > _crawl.PerHostDelay ? settings.PerHostDelay : _crawl.PerHostDelay,
                TimeSpan.FromTicks(Math.Max(0, (_crawl.BatchDeadline - owner._time.GetElapsedTime(startedAt)).Ticks)));
            // robots.txt and back-off state per origin, kept with the job: every call and retry obeys the same rules.
            var policy = CrawlActivities.PolicyFor(settings, owner._fetchOptions.Value);
            _policy = policy;
            _hosts = owner._jobHosts.Open(lane.JobId, policy, _limits.MaxConcurrencyPerHost);
            _extractor = job.Settings.Discovery is null ? null : new HtmlLinkExtractor(_crawl.MaxUrlLength, _crawl.AllowedPorts);
            _queues = owner._fetcher.Open(lane.JobId, policy, _limits, _hosts, cancellationToken);
            return _queues;
        }
    }

    private static BinaryData Ndjson(IEnumerable<UrlResult> results)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            foreach (var result in results)
            {
                JsonSerializer.Serialize(json, result, CrawlJsonContext.Default.UrlResult);
                json.Flush();
                buffer.Write("\n"u8);
                json.Reset();
            }
        }

        return BinaryData.FromBytes(buffer.WrittenMemory);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Crawl {JobId} lane [{FirstBatch}, {EndBatch}) from {FromBatch}: {Batches} batches committed, next {NextBatch}")]
    private static partial void LogLaneCallDone(ILogger logger, string jobId, int firstBatch, int endBatch, int fromBatch, int batches, int nextBatch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} batch {BatchIndex}: {Urls} results of the same plan already stored, not fetched again")]
    private static partial void LogBatchKept(ILogger logger, string jobId, int batchIndex, int urls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl {JobId} batch {BatchIndex}: {Urls} URLs, {Failed} failed, {ElapsedMs:0} ms")]
    private static partial void LogBatchDone(ILogger logger, string jobId, int batchIndex, long urls, long failed, double elapsedMs);
}
