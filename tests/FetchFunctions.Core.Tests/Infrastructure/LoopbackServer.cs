using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>What a <see cref="LoopbackServer"/> answers for /robots.txt.</summary>
internal sealed record RobotsAnswer(int Status, string Body, string? Location = null);

/// <summary>A real Kestrel server on 127.0.0.1:0 with the misbehaviours the fetcher must survive. It counts every
/// request per path and per key, so tests assert what the server saw rather than what the client believes.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private static readonly Lazy<Task<LoopbackServer>> SharedServer = new(() => StartAsync());

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _hitsByPath = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _attemptsByKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<DateTimeOffset>> _arrivalsByKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Path, long Timestamp)> _requests = new();
    private readonly ConcurrentDictionary<string, HeldRequests> _held = new(StringComparer.Ordinal);
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<string, HostLoad> _loads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _politeHolds = new(StringComparer.Ordinal);

    private LoopbackServer(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The server's base URI on each of its addresses: 127.0.0.1, 127.0.0.2, … (each its own host to a crawl).</summary>
    public IReadOnlyList<Uri> HostUris { get; private set; } = [];

    public int Port => BaseUri.Port;

    /// <summary>One server for the whole test run; tests isolate themselves with unique keys.</summary>
    public static Task<LoopbackServer> Shared => SharedServer.Value;

    public Uri Url(string pathAndQuery) => new(BaseUri, pathAndQuery);

    public int Hits(string path) => _hitsByPath.TryGetValue(path, out var hits) ? hits : 0;

    public int TotalHits => _hitsByPath.Values.Sum();

    public int Attempts(string key) => _attemptsByKey.TryGetValue(key, out var attempts) ? attempts : 0;

    /// <summary>A named counter of the crawl endpoints ("{run}:{kind}:requests", "{run}:{kind}:bytes", …).</summary>
    public long Counter(string name) => _counters.TryGetValue(name, out var value) ? value : 0;

    /// <summary>What /robots.txt answers; null (the default) answers 404.</summary>
    public RobotsAnswer? Robots { get; set; }

    /// <summary>When set, /robots.txt answers only once the test releases this gate.</summary>
    public SemaphoreSlim? RobotsGate { get; set; }

    /// <summary>Every request in arrival order: its path and when it arrived (server clock, since the server started).</summary>
    public IReadOnlyList<(string Path, TimeSpan At)> Requests =>
        [.. _requests.Select(r => (r.Path, Stopwatch.GetElapsedTime(_startedAt, r.Timestamp)))];

    /// <summary>For each request to /hold/{key}/…, in arrival order: how many of the key's requests were in flight when it
    /// arrived, itself included.</summary>
    public IReadOnlyList<int> InFlightAtArrival(string key) => _held.TryGetValue(key, out var held) ? held.AtArrival : [];

    /// <summary>Requests to /hold/{key}/… in flight now (arrived, not answered).</summary>
    public int InFlight(string key) => _held.TryGetValue(key, out var held) ? held.InFlight : 0;

    /// <summary>Requests to /hold/{key}/… answered so far.</summary>
    public int Answered(string key) => _held.TryGetValue(key, out var held) ? held.Answered : 0;

    /// <summary>Lets one held request of the key answer (503).</summary>
    public void ReleaseOne(string key) => Held(key).Gate.Release();

    public IReadOnlyList<DateTimeOffset> Arrivals(string key) =>
        _arrivalsByKey.TryGetValue(key, out var arrivals) ? [.. arrivals] : [];

    /// <summary>What the <c>/polite</c> endpoint saw of one run on one host (<paramref name="host"/> as the request named
    /// it, e.g. "127.0.0.2"), or on all hosts together (<paramref name="host"/> "*").</summary>
    public HostLoad Load(string run, string host) => _loads.GetOrAdd($"{run}@{host}", _ => new HostLoad());

    /// <summary>What a <c>/polite</c> request with a negative hold waits for: it answers once the test completes this.</summary>
    public TaskCompletionSource PoliteHold(string run) =>
        _politeHolds.GetOrAdd(run, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>A server on <paramref name="hosts"/> loopback addresses, 127.0.0.1 upwards, each on a port of its own.</summary>
    public static async Task<LoopbackServer> StartAsync(int hosts = 1)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls([.. Enumerable.Range(1, hosts).Select(i => $"http://127.0.0.{i}:0")]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxResponseBufferSize = 64 * 1024);
        var app = builder.Build();
        var server = new LoopbackServer(app);
        server.MapEndpoints();
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(address => new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"))
            .OrderBy(uri => System.Net.IPAddress.Parse(uri.Host).GetAddressBytes()[3])
            .ToList();
        server.HostUris = addresses;
        server.BaseUri = addresses[0];
        return server;
    }

    private int CountAttempt(string key)
    {
        _arrivalsByKey.GetOrAdd(key, _ => new ConcurrentQueue<DateTimeOffset>()).Enqueue(DateTimeOffset.UtcNow);
        return _attemptsByKey.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    private HeldRequests Held(string key) => _held.GetOrAdd(key, _ => new HeldRequests());

    private void Count(string name, long amount = 1) => _counters.AddOrUpdate(name, amount, (_, n) => n + amount);

    private void MapEndpoints()
    {
        var app = _app;
        app.Use(async (context, next) =>
        {
            _hitsByPath.AddOrUpdate(context.Request.Path.Value ?? "/", 1, (_, n) => n + 1);
            _requests.Enqueue((context.Request.Path.Value ?? "/", Stopwatch.GetTimestamp()));
            await next(context);
        });

        app.MapGet("/robots.txt", async (HttpContext context) =>
        {
            if (RobotsGate is { } gate)
            {
                await gate.WaitAsync(context.RequestAborted);
            }

            if (Robots is { Location: { } location })
            {
                context.Response.Headers.Location = location;
            }

            return Robots is { } robots ? Results.Text(robots.Body, "text/plain", statusCode: robots.Status) : Results.NotFound();
        });

        // A small page under any path (for robots.txt rules).
        app.MapGet("/site/{**rest}", (string rest) => Results.Text($"page {rest}", "text/plain"));

        // Holds each request until the test releases one, then answers 503; records the key's requests in flight.
        app.MapGet("/hold/{key}/{id:int}", async (HttpContext context, string key, int id) =>
        {
            var held = Held(key);
            held.Arrive();
            try
            {
                await held.Gate.WaitAsync(context.RequestAborted);
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }
            finally
            {
                held.Leave();
            }
        });

        // Fixed-size body with Content-Length.
        app.MapGet("/bytes/{size:long}", async (HttpContext context, long size, int? seed) =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = size;
            await TestContent.WriteAsync(context.Response.Body, seed ?? 1, size, context.RequestAborted);
        });

        // Chunked body (no Content-Length), written in small pieces.
        app.MapGet("/chunked/{size:long}", async (HttpContext context, long size, int? seed) =>
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await TestContent.WriteAsync(context.Response.Body, seed ?? 2, size, context.RequestAborted, chunkSize: 1000);
        });

        // Slow trickle: a chunk, then a pause, repeatedly.
        app.MapGet("/slow/{chunks:int}/{delayMs:int}", async (HttpContext context, int chunks, int delayMs) =>
        {
            context.Response.ContentType = "application/octet-stream";
            var chunk = new byte[100];
            for (var i = 0; i < chunks; i++)
            {
                chunk.AsSpan().Fill((byte)i);
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(delayMs, context.RequestAborted);
            }
        });

        // Headers, then silence: for idle and deadline timeouts.
        app.MapGet("/stall", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/octet-stream";
            await context.Response.Body.WriteAsync(new byte[10], context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });

        // No response at all until the client gives up.
        app.MapGet("/hang/{key}", async (HttpContext context, string key) =>
        {
            CountAttempt(key);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });

        // Echoes the request headers as "name: value" lines.
        app.MapGet("/headers", (HttpContext context) => Results.Text(
            string.Join('\n', context.Request.Headers.Select(h => $"{h.Key}: {h.Value}")), "text/plain"));

        // A connection reset in mid-body, the first `failures` times for a key; then the full body.
        app.MapGet("/reset/{key}/{failures:int}/{size:int}", async (HttpContext context, string key, int failures, int size) =>
        {
            var attempt = CountAttempt(key);
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = size;
            if (attempt <= failures)
            {
                await TestContent.WriteAsync(context.Response.Body, 3, size / 2, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                context.Abort();
                return;
            }

            await TestContent.WriteAsync(context.Response.Body, 3, size, context.RequestAborted);
        });

        // Fails `failures` times with `status`, then 200 with a body.
        app.MapGet("/flaky/{key}/{failures:int}/{status:int}", async (HttpContext context, string key, int failures, int status) =>
        {
            var attempt = CountAttempt(key);
            if (attempt <= failures)
            {
                context.Response.StatusCode = status;
                return;
            }

            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync($"ok after {attempt} attempts", context.RequestAborted);
        });

        // 429 with Retry-After (seconds or HTTP-date), then 200.
        app.MapGet("/throttled/{key}/{mode}/{seconds:int}", async (HttpContext context, string key, string mode, int seconds) =>
        {
            var attempt = CountAttempt(key);
            if (attempt == 1)
            {
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = mode == "date"
                    ? DateTimeOffset.UtcNow.AddSeconds(seconds + 1).ToString("R", CultureInfo.InvariantCulture)
                    : seconds.ToString(CultureInfo.InvariantCulture);
                return;
            }

            await context.Response.WriteAsync("served", context.RequestAborted);
        });

        // Always 503 (for the circuit breaker).
        app.MapGet("/down/{key}", (HttpContext context, string key) =>
        {
            CountAttempt(key);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        });

        app.MapGet("/status/{code:int}", (int code) => Results.Text($"status {code}", "text/plain", statusCode: code));

        // A redirect chain of n hops ending at a small body.
        app.MapGet("/redirect/{hops:int}", (int hops) =>
            hops <= 0 ? Results.Text("end of chain", "text/plain") : Results.Redirect($"/redirect/{hops - 1}"));

        app.MapGet("/loop/{name}", (string name) => Results.Redirect(name == "a" ? "/loop/b" : "/loop/a"));

        // Redirect to any URL given (tests only ever give loopback URLs).
        app.MapGet("/redirect-to", (string url) => Results.Redirect(url));

        app.MapGet("/gzip/{size:int}", async (HttpContext context, int size) =>
        {
            context.Response.ContentType = "text/plain";
            context.Response.Headers.ContentEncoding = "gzip";
            await using var gzip = new GZipStream(context.Response.Body, CompressionLevel.Fastest, leaveOpen: true);
            await gzip.WriteAsync(CompressibleText(size), context.RequestAborted);
        });

        app.MapGet("/brotli/{size:int}", async (HttpContext context, int size) =>
        {
            context.Response.ContentType = "text/plain";
            context.Response.Headers.ContentEncoding = "br";
            await using var brotli = new BrotliStream(context.Response.Body, CompressionLevel.Fastest, leaveOpen: true);
            await brotli.WriteAsync(CompressibleText(size), context.RequestAborted);
        });

        // Never ends.
        app.MapGet("/endless", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/octet-stream";
            var block = new byte[64 * 1024];
            while (!context.RequestAborted.IsCancellationRequested)
            {
                await context.Response.Body.WriteAsync(block, context.RequestAborted);
            }
        });

        // A crawl's URL kinds, counted per run: "{run}:{kind}:requests", bytes of complete bodies in "{run}:{kind}:bytes",
        // and "{run}:{kind}:200" for each 200 response sent whole.
        app.MapGet("/crawl/{run}/{kind}/{id:int}/{size:int}", async (HttpContext context, string run, string kind, int id, int size) =>
        {
            var requests = _attemptsByKey.AddOrUpdate($"{run}:{kind}:{id}", 1, (_, n) => n + 1);
            Count($"{run}:{kind}:requests");
            switch (kind)
            {
                case "ok":
                case "flaky" when requests > 1:
                    context.Response.ContentType = "application/octet-stream";
                    context.Response.ContentLength = size;
                    await TestContent.WriteAsync(context.Response.Body, id, size, context.RequestAborted);
                    Count($"{run}:{kind}:200");
                    Count($"{run}:{kind}:bytes", size);
                    return;
                case "flaky":
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    return;
                case "missing":
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                case "reset":
                    context.Response.ContentType = "application/octet-stream";
                    context.Response.ContentLength = size;
                    await TestContent.WriteAsync(context.Response.Body, id, size / 2, context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    context.Abort();
                    return;
                case "large":
                    // Declares its size up front, so a fetcher with a smaller cap stops before reading the body.
                    context.Response.ContentType = "application/octet-stream";
                    context.Response.ContentLength = size;
                    await TestContent.WriteAsync(context.Response.Body, id, size, context.RequestAborted);
                    return;
                default:
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                    return;
            }
        });

        // A small page after holding the request `holdMs` (negative: until the test releases PoliteHold(run)); records per run and host (and for all hosts, "*") the requests
        // in flight and when each arrived. A request counts as in flight until its response starts, so a client that has
        // its response can never be seen overlapping its next request.
        app.MapGet("/polite/{run}/{id:int}/{holdMs:int}", async (HttpContext context, string run, int id, int holdMs) =>
        {
            var now = TimeProvider.System.GetElapsedTime(_startedAt);
            HostLoad[] loads = [Load(run, context.Request.Host.Host), Load(run, "*")];
            foreach (var load in loads)
            {
                load.Enter(now);
            }

            try
            {
                await (holdMs < 0 ? PoliteHold(run).Task.WaitAsync(context.RequestAborted) : Task.Delay(holdMs, context.RequestAborted));
            }
            finally
            {
                foreach (var load in loads)
                {
                    load.Exit();
                }
            }

            await context.Response.WriteAsync($"page {id}", context.RequestAborted);
        });

        // Declares one length, sends fewer bytes, ends the response.
        app.MapGet("/wrong-length/{declared:int}/{actual:int}", async (HttpContext context, int declared, int actual) =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = declared;
            await context.Response.Body.WriteAsync(new byte[actual], context.RequestAborted);
        });
    }

    /// <summary>Requests of one /hold key: a gate the test opens one request at a time, and the in-flight count.</summary>
    private sealed class HeldRequests
    {
        private readonly Lock _lock = new();
        private readonly List<int> _atArrival = [];
        private int _inFlight;
        private int _answered;

        public SemaphoreSlim Gate { get; } = new(0);

        public int InFlight
        {
            get
            {
                lock (_lock)
                {
                    return _inFlight;
                }
            }
        }

        public int Answered
        {
            get
            {
                lock (_lock)
                {
                    return _answered;
                }
            }
        }

        public IReadOnlyList<int> AtArrival
        {
            get
            {
                lock (_lock)
                {
                    return [.. _atArrival];
                }
            }
        }

        public void Arrive()
        {
            lock (_lock)
            {
                _atArrival.Add(++_inFlight);
            }
        }

        public void Leave()
        {
            lock (_lock)
            {
                _inFlight--;
                _answered++;
            }
        }
    }

    public static byte[] CompressibleText(int size)
    {
        var text = new byte[size];
        for (var i = 0; i < size; i++)
        {
            text[i] = (byte)('a' + i % 26);
        }

        return text;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>Requests seen by the <c>/polite</c> endpoint: how many at most were in flight at once, and when each arrived
/// (time since the server started, in arrival order).</summary>
internal sealed class HostLoad
{
    private readonly Lock _lock = new();
    private readonly List<TimeSpan> _arrivals = [];
    private int _inFlight;

    public int Peak { get; private set; }

    public IReadOnlyList<TimeSpan> Arrivals
    {
        get
        {
            lock (_lock)
            {
                return [.. _arrivals.Order()];
            }
        }
    }

    public void Enter(TimeSpan at)
    {
        lock (_lock)
        {
            _arrivals.Add(at);
            Peak = Math.Max(Peak, ++_inFlight);
        }
    }

    public void Exit()
    {
        lock (_lock)
        {
            _inFlight--;
        }
    }
}
