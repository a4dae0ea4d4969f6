using System.Net;
using FetchFunctions.Core.Security;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Telemetry;

namespace FetchFunctions.Core.Fetching;

internal static class FetchEngineServiceCollectionExtensions
{
    /// <summary>The named HttpClient every fetch goes through.</summary>
    public const string HttpClientName = "FetchFunctions.Fetch";

    /// <summary>The fetch engine, its HttpClient, resilience pipeline and options.</summary>
    public static IServiceCollection AddFetchEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptionsWithValidateOnStart<FetchOptions>()
            .Bind(configuration.GetSection(FetchOptions.SectionName))
            .ValidateDataAnnotations();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FetchOptions>, FetchOptionsValidator>());
        services.AddOptionsWithValidateOnStart<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .ValidateDataAnnotations();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRecordSink, BlobBodySink>();
        services.TryAddSingleton<ConnectedAddresses>();
        // A retried 503 or 429 is routine for a crawler and is counted in every result: Polly's per-attempt warnings
        // would flood the host's logs. Breaker and timeout events keep their own severity.
        services.Configure<TelemetryOptions>(static telemetry => telemetry.SeverityProvider = static args =>
            args.Event.EventName is "ExecutionAttempt" or "OnRetry" ? ResilienceEventSeverity.Debug : args.Event.Severity);
        services.TryAddSingleton<IFetchEngine, FetchEngine>();
        services.AddCrawlTelemetry(configuration);

        var client = services.AddHttpClient(HttpClientName, static http =>
            {
                // The resilience pipeline owns every timeout; HttpClient's own would fight it.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .ConfigurePrimaryHttpMessageHandler(static provider => CreatePrimaryHandler(provider.GetRequiredService<IOptions<FetchOptions>>().Value,
                provider.GetRequiredService<ConnectedAddresses>()))
            // One long-lived handler: SocketsHttpHandler recycles connections itself (PooledConnectionLifetime).
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // URLs are user data: the factory's per-request logs would copy them (query strings included) into logs.
            .RemoveAllLoggers();

        client.AddResilienceHandler("fetch", static (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<FetchOptions>>().Value;
                var time = context.ServiceProvider.GetRequiredService<TimeProvider>();
                pipeline.TimeProvider = time;
                ConfigurePipeline(pipeline, options, time, context.ServiceProvider.GetService<CrawlTelemetry>());
            })
            // One pipeline per scheme+host+port: a failing host opens only its own breaker.
            .SelectPipelineByAuthority();
        client.AddHttpMessageHandler(static provider => new AttemptHandler(
            provider.GetRequiredService<IOptions<FetchOptions>>().Value.AttemptTimeout,
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<AttemptHandler>>()));
        return services;
    }

    internal static SocketsHttpHandler CreatePrimaryHandler(FetchOptions options, ConnectedAddresses? connected = null)
    {
        var policy = new AddressPolicy(options.AllowedNetworks.Select(IPNetwork.Parse).ToArray());
        var guard = new SsrfConnectGuard(policy, options.ConnectTimeout, connected);
        return new SocketsHttpHandler
        {
            ConnectCallback = guard.ConnectAsync,
            MaxConnectionsPerServer = options.MaxConnectionsPerServer,
            PooledConnectionLifetime = options.PooledConnectionLifetime,
            PooledConnectionIdleTimeout = options.PooledConnectionIdleTimeout,
            // The engine decodes gzip, deflate and br itself (FetchEngine.OpenBody): the handler's decoding would drop the
            // original Content-Encoding and Content-Length, which a WARC response record keeps (as X-Crawler-*).
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            // The guard times each address itself (so a host's next address gets its turn); a handler-wide connect
            // timeout of the same length would always fire first. The attempt timeout bounds DNS, connect and TLS together.
            ConnectTimeout = Timeout.InfiniteTimeSpan,
            // Response headers larger than this are a hostile server, not a web page.
            MaxResponseHeadersLength = 64,
            // Our trace context is ours: a crawled site gets no traceparent (or Request-Id) from a traced fetch.
            ActivityHeadersPropagator = null,
        };
    }

    internal static void ConfigurePipeline(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, FetchOptions options, TimeProvider time,
        CrawlTelemetry? telemetry = null)
    {
        // The hop's total budget for its response headers (retries included) is the engine's: it moves its deadline
        // timer forward while a hop waits, which costs no strategy per request.
        if (options.MaxRetries > 0)
        {
            pipeline.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "retry",
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args, options, time)),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result is { } response ? TransientFailures.RetryAfter(response, time.GetUtcNow()) : null),
                OnRetry = args => Observed(() => telemetry?.Retried(args.Context.GetRequestMessage()?.RequestUri)),
            });
        }

        pipeline.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            Name = "breaker",
            FailureRatio = options.BreakerFailureRatio,
            MinimumThroughput = options.BreakerMinimumThroughput,
            SamplingDuration = options.BreakerSamplingDuration,
            BreakDuration = options.BreakerBreakDuration,
            ShouldHandle = args => ValueTask.FromResult(TransientFailures.IsTransient(args.Outcome)),
            OnOpened = args => Observed(() => telemetry?.BreakerChanged(args.Context.GetRequestMessage()?.RequestUri, "open")),
            OnHalfOpened = args => Observed(() => telemetry?.BreakerChanged(args.Context.GetRequestMessage()?.RequestUri, "half_open")),
            OnClosed = args => Observed(() => telemetry?.BreakerChanged(args.Context.GetRequestMessage()?.RequestUri, "closed")),
        });

        // Innermost, one attempt's timeout: the AttemptHandler below the pipeline.
    }

    private static ValueTask Observed(Action record)
    {
        record();
        return ValueTask.CompletedTask;
    }

    private static bool ShouldRetry(RetryPredicateArguments<HttpResponseMessage> args, FetchOptions options, TimeProvider time)
    {
        if (!TransientFailures.IsTransient(args.Outcome))
        {
            return false;
        }

        var request = args.Context.GetRequestMessage();
        var maxRetries = FetchRequestOptions.GetPolicy(request)?.MaxRetries ?? options.MaxRetries;
        if (args.AttemptNumber >= maxRetries)
        {
            return false;
        }

        // Honour Retry-After, but never wait past the budget: then the response is the answer.
        if (args.Outcome.Result is { } response && TransientFailures.RetryAfter(response, time.GetUtcNow()) is { } wait)
        {
            if (wait > options.MaxRetryDelay)
            {
                return false;
            }

            if (request is not null && request.Options.TryGetValue(FetchRequestOptions.Deadline, out var deadline)
                && time.GetUtcNow() + wait >= deadline)
            {
                return false;
            }
        }

        return true;
    }
}
