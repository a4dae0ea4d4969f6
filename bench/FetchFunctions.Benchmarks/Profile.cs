using System.Runtime.CompilerServices;
using FetchFunctions.Core.Fetching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace FetchFunctions.Benchmarks;

/// <summary>Where the engine's CPU per request goes (<c>--parts profile</c>). The network and the server are replaced by
/// an in-process handler that answers at once, so what is left is the client's own work, measured one layer at a time
/// without the noise of a shared machine: time and bytes allocated per request, one request at a time. The difference
/// between two rows is the cost of what the lower row adds.</summary>
internal static class Profile
{
    private sealed record Layer(string Name, Func<Uri, Task> FetchOne);

    /// <summary>Set to <c>fetch</c> or <c>store</c>, <c>--parts profile</c> runs only that half.</summary>
    private const string OnlyVariable = "FETCHBENCH_PROFILE";

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var only = Environment.GetEnvironmentVariable(OnlyVariable);
        if (only is null or "fetch")
        {
            await FetchAsync(options, report, cancellationToken);
        }

        if (only is null or "store")
        {
            await StoreProfile.RunAsync(options, report, cancellationToken);
        }
    }

    private static async Task FetchAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var page = new byte[options.PageBytes];
        var stub = () => new StubHandler(page);
        await using var core = CoreHost.Create(storage: null, options.Concurrency, options.BigBytes, primaryHandler: stub);
        var fetchOptions = core.Provider.GetRequiredService<IOptions<FetchOptions>>().Value;
        var policy = core.Policy;
        var time = TimeProvider.System;
        using var bare = new HttpClient(stub());
        await using var factoryOnly = ClientVariant(stub, pipeline: null);
        await using var empty = ClientVariant(stub, (_, _) => { });
        await using var emptyQuiet = ClientVariant(stub, (p, _) => p.TelemetryListener = null);
        await using var total = ClientVariant(stub, (p, _) => Strategies(p, fetchOptions, time, 1));
        await using var totalRetry = ClientVariant(stub, (p, _) => Strategies(p, fetchOptions, time, 2));
        await using var totalRetryBreaker = ClientVariant(stub, (p, _) => Strategies(p, fetchOptions, time, 3));
        await using var all = ClientVariant(stub, (p, _) => Strategies(p, fetchOptions, time, 4));
        await using var allQuiet = ClientVariant(stub, (p, _) =>
        {
            Strategies(p, fetchOptions, time, 4);
            p.TelemetryListener = null;
        });
        var factory = core.Provider.GetRequiredService<IHttpClientFactory>();
        var engine = core.Engine;

        Layer Client(string name, Func<HttpClient> client, bool engineMessage = true) =>
            new(name, url => ReadAsync(client(), engineMessage ? EngineLikeMessage(url, policy, time) : new HttpRequestMessage(HttpMethod.Get, url), cancellationToken));

        var layers = new[]
        {
            Client("HttpClient over the stub", () => bare, engineMessage: false),
            Client("+ engine's message (headers, options)", () => bare),
            Client("+ IHttpClientFactory client per request", factoryOnly.Create),
            Client("+ resilience handler, empty pipeline", empty.Create),
            Client("  (same, Polly telemetry off)", emptyQuiet.Create),
            Client("+ total timeout (Polly; the engine's own timer since issue 13)", total.Create),
            Client("+ retry", totalRetry.Create),
            Client("+ circuit breaker", totalRetryBreaker.Create),
            Client("Core's pipeline now: retry and breaker only", all.Create),
            Client("  (same, Polly telemetry off)", allQuiet.Create),
            Client("Core's client (by authority, attempt handler with the attempt timeout)", () => factory.CreateClient(FetchEngineServiceCollectionExtensions.HttpClientName)),
            new Layer("the whole engine, discarding sink", async url =>
            {
                var result = await engine.FetchAsync(new FetchRequest(url, "profile", policy), cancellationToken);
                if (!result.Succeeded)
                {
                    throw new InvalidOperationException($"{result.ErrorKind}: {result.Error}");
                }
            }),
        };

        var urls = Enumerable.Range(0, 1_000).Select(i => new Uri($"http://127.0.0.1:8080/page/profile-{i}")).ToArray();
        var calls = options.Quick ? 20_000 : 100_000;
        foreach (var layer in layers)
        {
            await Measure.WarmUpAsync(TimeSpan.FromSeconds(options.Quick ? 0.3 : 1), () => LoopAsync(layer, urls, 5_000));
        }

        var samples = layers.ToDictionary(l => l, _ => new List<(double Micros, double Bytes)>());
        for (var run = 0; run < options.Runs; run++)
        {
            for (var i = 0; i < layers.Length; i++)
            {
                var layer = layers[(i + run) % layers.Length];
                GC.Collect();
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var cpu = Environment.CpuUsage.TotalTime;
                await LoopAsync(layer, urls, calls);
                var cpuMicros = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / calls;
                samples[layer].Add((cpuMicros, (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)calls));
            }

            Measure.Progress($"profile run {run + 1} done");
        }

        foreach (var layer in layers)
        {
            report.Add("profile", layer.Name, "µs CPU/req", samples[layer].Select(s => s.Micros));
        }

        foreach (var layer in layers)
        {
            report.Add("profile", layer.Name, "B alloc/req", samples[layer].Select(s => s.Bytes));
        }
    }

    private static async Task LoopAsync(Layer layer, Uri[] urls, int calls)
    {
        for (var i = 0; i < calls; i++)
        {
            await layer.FetchOne(urls[i % urls.Length]);
        }
    }

    /// <summary>The strategies Core's pipeline had before issue 13, the first <paramref name="count"/> of them (total
    /// timeout, retry, breaker); 4 is Core's pipeline as it is now (retry and breaker: the hop's total timeout is the
    /// engine's own timer and the attempt timeout the innermost handler's), so the rows show what moving them saved.</summary>
    private static void Strategies(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, FetchOptions options, TimeProvider time, int count)
    {
        if (count >= 4)
        {
            FetchEngineServiceCollectionExtensions.ConfigurePipeline(pipeline, options, time);
            return;
        }

        pipeline.AddTimeout(new Polly.Timeout.TimeoutStrategyOptions
        {
            TimeoutGenerator = args => ValueTask.FromResult(
                args.Context.GetRequestMessage() is { } request && request.Options.TryGetValue(FetchRequestOptions.Deadline, out var deadline)
                    ? deadline - time.GetUtcNow()
                    : options.TotalTimeout),
        });
        if (count >= 2)
        {
            pipeline.AddRetry(new Polly.Retry.RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(TransientFailures.IsTransient(args.Outcome)),
            });
        }

        if (count >= 3)
        {
            pipeline.AddCircuitBreaker(new Polly.CircuitBreaker.CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                ShouldHandle = args => ValueTask.FromResult(TransientFailures.IsTransient(args.Outcome)),
            });
        }
    }

    private static HttpRequestMessage EngineLikeMessage(Uri url, FetchPolicy policy, TimeProvider time)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, url);
        message.Headers.TryAddWithoutValidation("User-Agent", policy.UserAgent);
        message.Options.Set(FetchRequestOptions.Policy, policy);
        message.Options.Set(FetchRequestOptions.Deadline, time.GetUtcNow() + policy.TotalTimeout);
        message.Options.Set(FetchRequestOptions.Attempts, new StrongBox<int>());
        return message;
    }

    private static async Task ReadAsync(HttpClient client, HttpRequestMessage message, CancellationToken cancellationToken)
    {
        using (message)
        using (var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken))
        {
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
            while (await body.ReadAsync(buffer, cancellationToken) > 0)
            {
            }

            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ClientVariant ClientVariant(Func<HttpMessageHandler> primary, Action<ResiliencePipelineBuilder<HttpResponseMessage>, ResilienceHandlerContext>? pipeline)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var client = services.AddHttpClient("variant", static http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(primary)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();
        if (pipeline is not null)
        {
            client.AddResilienceHandler("variant", pipeline);
        }

        return new ClientVariant(services.BuildServiceProvider());
    }
}

/// <summary>Answers every request at once with a fixed page, as a server on the other end of a free, instant network would.
/// Like a socket, it completes asynchronously (the headers and each body read yield to the thread pool), so every async
/// layer above it pays for suspending and resuming as it does against a real server.</summary>
internal sealed class StubHandler(byte[] page) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return new HttpResponseMessage(System.Net.HttpStatusCode.OK)
        {
            RequestMessage = request,
            Content = new StreamContent(new YieldingStream(page)) { Headers = { { "Content-Type", "text/html" }, { "Content-Length", page.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) } } },
        };
    }

    private sealed class YieldingStream(byte[] page) : MemoryStream(page, writable: false)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            return Read(buffer.Span);
        }
    }
}

internal sealed class ClientVariant(ServiceProvider provider) : IAsyncDisposable
{
    private readonly IHttpClientFactory _factory = provider.GetRequiredService<IHttpClientFactory>();

    public HttpClient Create() => _factory.CreateClient("variant");

    public ValueTask DisposeAsync() => provider.DisposeAsync();
}
