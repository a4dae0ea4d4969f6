using System.Buffers;
using System.Runtime.CompilerServices;
using FetchFunctions.Core.Fetching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Benchmarks;

/// <summary>Where the engine's CPU per request goes (<c>--parts profile</c>): the same small pages through the client
/// built up one layer at a time, from a bare HttpClient to the whole engine. The difference between two neighbouring
/// rows is the cost of the layer added.</summary>
internal static class Profile
{
    private sealed record Layer(string Name, Func<Uri, CancellationToken, Task> FetchOne);

    public static async Task RunAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        await using var core = CoreHost.Create(storage: null, options.Concurrency, options.BigBytes);
        var fetchOptions = core.Provider.GetRequiredService<IOptions<FetchOptions>>().Value;
        var policy = core.Policy;
        using var bare = SmallPages.CreateBareClient(options.Concurrency);
        using var engineHandler = new HttpClient(FetchEngineServiceCollectionExtensions.CreatePrimaryHandler(fetchOptions));
        await using var noPipeline = ClientVariant(fetchOptions, pipeline: null);
        await using var emptyPipeline = ClientVariant(fetchOptions, pipeline: (_, _) => { });
        var factory = core.Provider.GetRequiredService<IHttpClientFactory>();
        var engine = core.Engine;

        var layers = new Layer[]
        {
            new("bare HttpClient", (url, ct) => ReadAsync(bare, new HttpRequestMessage(HttpMethod.Get, url), ct)),
            new("+ engine's SocketsHttpHandler (SSRF connect, decompression)", (url, ct) => ReadAsync(engineHandler, new HttpRequestMessage(HttpMethod.Get, url), ct)),
            new("+ IHttpClientFactory client per request", (url, ct) => ReadAsync(noPipeline.Create(), new HttpRequestMessage(HttpMethod.Get, url), ct)),
            new("+ resilience handler, empty pipeline", (url, ct) => ReadAsync(emptyPipeline.Create(), new HttpRequestMessage(HttpMethod.Get, url), ct)),
            new("+ Core's pipeline by authority, engine's message", (url, ct) => ReadAsync(factory.CreateClient(FetchEngineServiceCollectionExtensions.HttpClientName), EngineLikeMessage(url, policy), ct)),
            new("+ rest of the engine (redirects, meter, hash, result)", async (url, ct) =>
            {
                var result = await engine.FetchAsync(new FetchRequest(url, "profile", policy), ct);
                if (!result.Succeeded)
                {
                    throw new InvalidOperationException($"{result.ErrorKind}: {result.Error}");
                }
            }),
        };

        var urls = Enumerable.Range(0, options.Pages).Select(i => new Uri(server, $"page/profile-{i}")).ToArray();
        foreach (var layer in layers)
        {
            await Measure.WarmUpAsync(TimeSpan.FromSeconds(options.Quick ? 0.5 : 1.5),
                () => RunLayerAsync(layer, urls[..Math.Clamp(options.Pages / 10, 100, 1_000)], options.Concurrency, cancellationToken));
        }

        var samples = layers.ToDictionary(l => l, _ => new List<Sample>());
        for (var run = 0; run < options.Runs; run++)
        {
            // Rotate the order so that no layer always runs on a colder or busier machine.
            for (var i = 0; i < layers.Length; i++)
            {
                var layer = layers[(i + run) % layers.Length];
                samples[layer].Add(await Measure.RunAsync(() => RunLayerAsync(layer, urls, options.Concurrency, cancellationToken)));
            }

            Measure.Progress($"profile run {run + 1} done");
        }

        foreach (var layer in layers)
        {
            report.Add("profile", layer.Name, "µs CPU/req", samples[layer].Select(s => s.CpuMicrosecondsPer(urls.Length)));
        }

        foreach (var layer in layers)
        {
            report.Add("profile", layer.Name, "req/s", samples[layer].Select(s => s.Rate(urls.Length)));
        }
    }

    private static Task RunLayerAsync(Layer layer, Uri[] urls, int concurrency, CancellationToken cancellationToken) =>
        Measure.ForEachAsync(urls.Length, concurrency, async (i, ct) => await layer.FetchOne(urls[i], ct), cancellationToken);

    private static HttpRequestMessage EngineLikeMessage(Uri url, FetchPolicy policy)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, url);
        message.Headers.TryAddWithoutValidation("User-Agent", policy.UserAgent);
        message.Options.Set(FetchRequestOptions.Policy, policy);
        message.Options.Set(FetchRequestOptions.Deadline, DateTimeOffset.UtcNow + policy.TotalTimeout);
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
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                while (await body.ReadAsync(buffer, cancellationToken) > 0)
                {
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>A named client like Core's (engine handler, no factory loggers), with or without a resilience handler.</summary>
    private static ClientVariant ClientVariant(FetchOptions options, Action<Polly.ResiliencePipelineBuilder<HttpResponseMessage>, Microsoft.Extensions.Http.Resilience.ResilienceHandlerContext>? pipeline)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var client = services.AddHttpClient("variant", static http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => FetchEngineServiceCollectionExtensions.CreatePrimaryHandler(options))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();
        if (pipeline is not null)
        {
            client.AddResilienceHandler("variant", pipeline);
        }

        return new ClientVariant(services.BuildServiceProvider());
    }
}

internal sealed class ClientVariant(ServiceProvider provider) : IAsyncDisposable
{
    private readonly IHttpClientFactory _factory = provider.GetRequiredService<IHttpClientFactory>();

    public HttpClient Create() => _factory.CreateClient("variant");

    public ValueTask DisposeAsync() => provider.DisposeAsync();
}
