using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Cli.LocalStorage;
using FetchFunctions.Core;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Benchmarks;

/// <summary>Core wired as a host wires it (<c>AddFetchFunctionsCore</c>), with the operator's allow-list opened to loopback
/// (the only place the benchmark's servers are) and room for the big body.</summary>
internal sealed class CoreHost : IAsyncDisposable
{
    public const string ContainerName = "bench";

    /// <summary>Environment variables with this prefix override Core settings in every Core the benchmark builds.</summary>
    public const string SettingPrefix = "FETCHBENCH_";

    // Never contacted when bodies are discarded: a closed loopback port keeps a misrouted call local.
    private static readonly string UnusedStorage = AzuriteProcess.ConnectionStringFor(1, 1, 1);

    private CoreHost(ServiceProvider provider) => Provider = provider;

    public ServiceProvider Provider { get; }

    public IFetchEngine Engine => Provider.GetRequiredService<IFetchEngine>();

    public FetchPolicy Policy => FetchPolicy.FromOptions(Provider.GetRequiredService<IOptions<FetchOptions>>().Value);

    /// <summary>A WARC writer for one batch of a job, over this Core's storage client, as a batch activity opens it.</summary>
    public WarcBatchWriter OpenWarc(string jobId, int batchIndex) =>
        new(Provider.GetRequiredService<BlobServiceClient>().GetBlobContainerClient(ContainerName),
            new WarcBatch(jobId, DateTimeOffset.UnixEpoch, batchIndex, WarcStore.Info(jobId, Policy.UserAgent, robots: true)),
            new WarcWriterLimits(new FetchFunctions.Core.Jobs.CrawlOptions().WarcFileBytes));

    /// <summary>Core against Azurite (<paramref name="storage"/> a connection string), or discarding bodies (null).</summary>
    public static CoreHost Create(string? storage, int concurrency, long maxBodyBytes, IDictionary<string, string?>? settings = null,
        Func<HttpMessageHandler>? primaryHandler = null, Action<IServiceCollection>? before = null, RequestCounter? counter = null)
    {
        var services = new ServiceCollection();
        Configure(services, storage, concurrency, maxBodyBytes, settings, primaryHandler, before, counter);
        return new CoreHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
    }

    /// <summary>Adds Core to <paramref name="services"/> as <see cref="Create"/> does: also the services of the Durable
    /// host of the <c>durable</c> part, so both runners of a job run the same Core.</summary>
    public static void Configure(IServiceCollection services, string? storage, int concurrency, long maxBodyBytes,
        IDictionary<string, string?>? settings = null, Func<HttpMessageHandler>? primaryHandler = null, Action<IServiceCollection>? before = null,
        RequestCounter? counter = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Fetch:AllowedNetworks:0"] = "127.0.0.0/8",
            ["Fetch:MaxConnectionsPerServer"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Fetch:MaxBodyBytes"] = maxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Storage:ContainerName"] = ContainerName,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        // Core settings to try without a rebuild, e.g. FETCHBENCH_Fetch__UploadConcurrency=4 (child processes inherit them).
        foreach (var entry in Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>())
        {
            if (entry.Key is string name && name.StartsWith(SettingPrefix, StringComparison.Ordinal))
            {
                values[name[SettingPrefix.Length..].Replace("__", ":", StringComparison.Ordinal)] = entry.Value as string;
            }
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        services.AddLogging();
        // The options the app and the CLI give their clients (Core's retry, no SDK request logging).
        services.AddSingleton(provider =>
        {
            var clientOptions = new BlobClientOptions();
            StorageClientRegistration.ConfigureClientOptions(clientOptions, provider);
            if (counter is not null)
            {
                clientOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerRetry);
            }
            return new BlobServiceClient(storage ?? UnusedStorage, clientOptions);
        });
        services.AddSingleton(new QueueServiceClient(storage ?? UnusedStorage));
        if (storage is null)
        {
            // Registered first: Core adds its blob sink only when no sink is registered.
            services.AddSingleton<IRecordSink, DiscardingBodySink>();
        }

        before?.Invoke(services);
        services.AddFetchFunctionsCore(configuration);
        if (primaryHandler is not null)
        {
            // The profile's in-process stand-in for the network: the last primary handler configured wins.
            services.AddHttpClient(FetchEngineServiceCollectionExtensions.HttpClientName).ConfigurePrimaryHttpMessageHandler(primaryHandler);
        }
    }

    public ValueTask DisposeAsync() => Provider.DisposeAsync();
}

/// <summary>Reads every body to its end (so it is counted, hashed and capped like a stored one) and keeps nothing.</summary>
internal sealed class DiscardingBodySink : IRecordSink
{
    public bool RecordsExchanges => false;

    public Task RecordHopAsync(RecordWrite hop, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<BodyLocation?> StoreAsync(RecordWrite write, BodyMeterStream body, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
            {
            }

            return null;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task DeleteAsync(string blobName, CancellationToken cancellationToken) => Task.CompletedTask;
}
