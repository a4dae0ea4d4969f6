using System.Collections.Concurrent;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Security;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class LaneFetcherTests
{
    private static readonly FetchPolicy Policy = FetchPolicy.FromOptions(new FetchOptions()) with { AddressPolicy = AddressPolicy.Default };

    /// <summary>An engine whose fetches finish only when the test releases them; it records starts and concurrency.</summary>
    private sealed class GatedEngine(TimeProvider time) : IFetchEngine
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, int> _inFlightByHost = [];
        private int _inFlight;

        public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new();
        public ConcurrentQueue<(string Url, DateTimeOffset At)> Starts { get; } = new();
        public int MaxInFlight { get; private set; }
        public Dictionary<string, int> MaxInFlightByHost { get; } = [];
        public int Started => Starts.Count;

        public void Release(string url) => Gates.GetOrAdd(url, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        public void ReleaseAll(IEnumerable<string> urls)
        {
            foreach (var url in urls)
            {
                Release(url);
            }
        }

        public async Task<FetchResult> FetchAsync(FetchRequest request, CancellationToken cancellationToken)
        {
            var url = request.Url.AbsoluteUri;
            var host = request.Url.Host;
            lock (_lock)
            {
                _inFlight++;
                MaxInFlight = Math.Max(MaxInFlight, _inFlight);
                _inFlightByHost[host] = _inFlightByHost.GetValueOrDefault(host) + 1;
                MaxInFlightByHost[host] = Math.Max(MaxInFlightByHost.GetValueOrDefault(host), _inFlightByHost[host]);
            }

            Starts.Enqueue((url, time.GetUtcNow()));
            try
            {
                await Gates.GetOrAdd(url, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(cancellationToken);
                return new FetchResult(url, url, 200, "text/plain", 10, "00", 1, TimeSpan.FromMilliseconds(5), request.BlobName, null, null);
            }
            finally
            {
                lock (_lock)
                {
                    _inFlight--;
                    _inFlightByHost[host]--;
                }
            }
        }
    }

    private static (LaneFetcher Sut, GatedEngine Engine, FakeTimeProvider Time) CreateSut()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var engine = new GatedEngine(time);
        return (new LaneFetcher(engine, time), engine, time);
    }

    private static LaneLimits Limits(int max = 16, int perHost = 4, int delayMs = 0, int deadlineSeconds = 480) =>
        new(max, perHost, TimeSpan.FromMilliseconds(delayMs), TimeSpan.FromSeconds(deadlineSeconds));

    private static List<string> Urls(int hosts, int perHost) =>
        [.. Enumerable.Range(0, perHost).SelectMany(i => Enumerable.Range(0, hosts).Select(h => $"https://h{h}.example/{i}"))];

    [Fact]
    public async Task FetchAsync_ManyUrls_KeepsGlobalAndPerHostLimits()
    {
        var (sut, engine, _) = CreateSut();
        var urls = Urls(hosts: 5, perHost: 10);

        var fetch = sut.FetchAsync("job", urls, Policy, Limits(max: 6, perHost: 2), CancellationToken.None);
        await Poll.UntilAsync(() => engine.Started == 6, "six fetches to start");
        Assert.Equal(6, engine.Started);
        var released = 0;
        while (!fetch.IsCompleted)
        {
            var started = engine.Starts.Select(s => s.Url).ToList();
            engine.ReleaseAll(started);
            released = started.Count;
            await Poll.UntilAsync(() => engine.Started > released || fetch.IsCompleted, "more fetches to start");
        }

        var results = await fetch;
        Assert.Equal(urls, results.Select(r => r.Url));
        Assert.All(results, r => Assert.True(r.Succeeded));
        Assert.Equal(6, engine.MaxInFlight);
        Assert.All(engine.MaxInFlightByHost.Values, n => Assert.Equal(2, n));
    }

    [Fact]
    public async Task FetchAsync_PerHostDelay_SpacesStartsOfOneHostFromTheBatchStart()
    {
        var (sut, engine, time) = CreateSut();
        var batchStart = time.GetUtcNow();
        var urls = Urls(hosts: 2, perHost: 3);
        engine.ReleaseAll(urls);

        var fetch = sut.FetchAsync("job", urls, Policy, Limits(delayMs: 1000), CancellationToken.None);
        // Even the first fetch of a host waits the delay: the batch before it in the host's lane may just have started one.
        for (var step = 0; step <= 2; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(999));
            Assert.Equal(2 * step, engine.Started);
            time.Advance(TimeSpan.FromMilliseconds(1));
            await Poll.UntilAsync(() => engine.Started == 2 * (step + 1), "the next fetch of each host");
        }

        await fetch;
        foreach (var host in new[] { "h0", "h1" })
        {
            var starts = engine.Starts.Where(s => s.Url.Contains(host, StringComparison.Ordinal)).Select(s => s.At).Order().ToList();
            Assert.Equal([1, 2, 3], starts.Select(s => (s - batchStart).TotalSeconds));
        }
    }

    [Fact]
    public async Task FetchAsync_DeadlinePasses_ReportsRunningAndUnstartedUrlsAsTimeouts()
    {
        var (sut, engine, time) = CreateSut();
        var urls = Urls(hosts: 1, perHost: 5);
        engine.Release(urls[0]);

        var fetch = sut.FetchAsync("job", urls, Policy, Limits(max: 2, perHost: 2, deadlineSeconds: 60), CancellationToken.None);
        await Poll.UntilAsync(() => engine.Started == 3, "the first fetch to finish and two to run");
        time.Advance(TimeSpan.FromSeconds(60));
        var results = await fetch;

        Assert.Equal(urls, results.Select(r => r.Url));
        Assert.True(results[0].Succeeded);
        Assert.Equal([true, true, false, false], results.Skip(1).Select(r => r.Started));
        Assert.All(results.Skip(1), r => Assert.Equal(FetchErrorKind.Timeout, r.ErrorKind));
        Assert.StartsWith("Stopped at the batch deadline", results[1].Error, StringComparison.Ordinal);
        Assert.StartsWith("Not started", results[4].Error, StringComparison.Ordinal);
        Assert.Equal(3, engine.Started);
    }

    [Fact]
    public async Task FetchAsync_CallerCancels_Throws()
    {
        var (sut, engine, _) = CreateSut();
        using var cancellation = new CancellationTokenSource();

        var fetch = sut.FetchAsync("job", Urls(2, 2), Policy, Limits(), cancellation.Token);
        await Poll.UntilAsync(() => engine.Started == 4, "all fetches to start");
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch);
    }

    [Fact]
    public async Task FetchAsync_Urls_UseDeterministicBodyBlobNames()
    {
        var (sut, engine, _) = CreateSut();
        var urls = Urls(1, 2);
        engine.ReleaseAll(urls);

        var results = await sut.FetchAsync("job-9", urls, Policy, Limits(), CancellationToken.None);

        Assert.Equal(urls.Select(u => FetchFunctions.Core.Storage.BlobNames.Body("job-9", new Uri(u))), results.Select(r => r.BlobName));
        Assert.All(results, r => Assert.Equal("h0.example", r.Host));
    }

    /// <summary>Every origin gets the same stored record, as a job's host blob would give it.</summary>
    private sealed class FixedHosts(HostRecord record, bool fetchedNow = false) : IHostDirectory
    {
        public Task<HostPoliteness> GetAsync(string origin, CancellationToken cancellationToken) =>
            Task.FromResult(new HostPoliteness(record with { Origin = origin }, true, 4, TimeSpan.FromSeconds(10), fetchedNow));
    }

    private static HostRecord Robots(TimeSpan? crawlDelay, params RobotsRule[] rules) =>
        new("unset", RobotsOutcome.Parsed, 200, null, rules, crawlDelay, HostBackoff.None);

    [Fact]
    public async Task FetchAsync_RobotsDisallow_NeverRequestsThoseUrls()
    {
        var (sut, engine, _) = CreateSut();
        var urls = Urls(hosts: 2, perHost: 3);
        engine.ReleaseAll(urls);

        var results = await sut.FetchAsync("job", urls, Policy, Limits(), new FixedHosts(Robots(null, new RobotsRule(false, "/1"))), CancellationToken.None);

        Assert.Equal(urls, results.Select(r => r.Url));
        Assert.Equal(urls.Where(u => !u.EndsWith("/1", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            engine.Starts.Select(s => s.Url).Order(StringComparer.Ordinal));
        Assert.All(results.Where(r => r.Url.EndsWith("/1", StringComparison.Ordinal)), r =>
            Assert.Equal((FetchErrorKind.DisallowedByRobots, false), (r.ErrorKind!.Value, r.Started)));
    }

    [Fact]
    public async Task FetchAsync_UnreachableRobots_DisallowsEveryUrlOfTheOrigin()
    {
        var (sut, engine, _) = CreateSut();
        var urls = Urls(hosts: 1, perHost: 3);
        var record = new HostRecord("unset", RobotsOutcome.Unreachable, 503, "HTTP 503", [], null, HostBackoff.None);

        var results = await sut.FetchAsync("job", urls, Policy, Limits(), new FixedHosts(record), CancellationToken.None);

        Assert.Equal(0, engine.Started);
        Assert.All(results, r => Assert.Contains("unreachable (HTTP 503)", r.Error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task FetchAsync_CrawlDelay_SpacesStartsAfterTheRobotsRequestToo()
    {
        var (sut, engine, time) = CreateSut();
        var urls = Urls(hosts: 1, perHost: 2);
        engine.ReleaseAll(urls);

        // fetchedNow: this batch requested robots.txt, so even the first page waits one delay.
        var fetch = sut.FetchAsync("job", urls, Policy, Limits(delayMs: 500), new FixedHosts(Robots(TimeSpan.FromSeconds(2)), fetchedNow: true),
            CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(0, engine.Started);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Poll.UntilAsync(() => engine.Started == 1, "the first page");
        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(1, engine.Started);
        time.Advance(TimeSpan.FromMilliseconds(1));

        await fetch;
        Assert.Equal(2, engine.Started);
    }

    [Fact]
    public async Task FetchAsync_TurnStartedLateForABatchSlot_NextStartOfTheHostStillWaitsTheDelay()
    {
        var (sut, engine, time) = CreateSut();
        string[] urls = ["https://h.example/first", "https://busy.example/0", "https://h.example/0", "https://h.example/1"];
        engine.ReleaseAll(urls.Where(u => !u.Contains("busy", StringComparison.Ordinal)));

        // One batch slot, held by the busy host while both later turns of h come and go: they start late, one right
        // after the other, unless the second waits for the first's actual start.
        var fetch = sut.FetchAsync("job", urls, Policy, Limits(max: 1, perHost: 2, delayMs: 1000), CancellationToken.None);
        // Each host's first start waits the delay from the batch's start (the batch before, of the same lane, may just
        // have started one).
        await Poll.UntilAsync(() =>
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            return engine.Started == 2;
        }, "the first page of h and the busy host's fetch");
        time.Advance(TimeSpan.FromSeconds(3));
        engine.Release(urls[1]);
        await Poll.UntilAsync(() =>
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            return fetch.IsCompleted;
        }, "the batch");

        var late = engine.Starts.Where(s => s.Url.StartsWith("https://h.example/", StringComparison.Ordinal) && !s.Url.EndsWith("first", StringComparison.Ordinal))
            .Select(s => s.At).Order().ToList();
        // The fake engine notes a start a moment after the gate let it go, and the poll above may advance the clock 50 ms
        // in between, so allow a few of its steps; without the rule the two turns start within one step of each other.
        Assert.True(late[1] - late[0] >= TimeSpan.FromMilliseconds(800), string.Join(", ", engine.Starts.Select(s => $"{s.Url} at {s.At.TimeOfDay}")));
    }
}
