using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Core.Fetching;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>Core wired exactly as a host wires it, against the shared Azurite and a fresh container.</summary>
internal sealed class EngineHost : IAsyncDisposable
{
    private EngineHost(ServiceProvider provider, BlobContainerClient container)
    {
        Provider = provider;
        Container = container;
    }

    public ServiceProvider Provider { get; }

    public BlobContainerClient Container { get; }

    public IFetchEngine Engine => Provider.GetRequiredService<IFetchEngine>();

    public FetchPolicy DefaultPolicy => FetchPolicy.FromOptions(Provider.GetRequiredService<IOptions<FetchOptions>>().Value);

    /// <summary>Test defaults (a null setting removes one): loopback opened by the operator's allow-list, quick retry backoff.</summary>
    public static async Task<EngineHost> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var container = await SharedAzurite.CreateContainerAsync();
        var connectionString = await SharedAzurite.ConnectionStringAsync();
        var values = new Dictionary<string, string?>
        {
            ["Fetch:AllowedNetworks:0"] = "127.0.0.0/8",
            ["Fetch:RetryBaseDelay"] = "00:00:00.010",
            ["Fetch:MaxRetryDelay"] = "00:00:05",
            ["Storage:ContainerName"] = container.Name,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            // A null value removes a default.
            if (value is null)
            {
                values.Remove(key);
            }
            else
            {
                values[key] = value;
            }
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton(new BlobServiceClient(connectionString));
        // Base64, as the Functions app and the CLI create it: the encoding the queue trigger reads.
        services.AddSingleton(new QueueServiceClient(connectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }));
        services.AddFetchFunctionsCore(configuration);
        return new EngineHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }), container);
    }

    public Task<FetchResult> FetchAsync(Uri url, Func<FetchPolicy, FetchPolicy>? tighten = null, CancellationToken cancellationToken = default) =>
        Engine.FetchAsync(new FetchRequest(url, BodyName(url), tighten is null ? DefaultPolicy : tighten(DefaultPolicy)), cancellationToken);

    public static string BodyName(Uri url) => FetchFunctions.Core.Storage.BlobNames.Body("job-1", url);

    public async Task<byte[]> DownloadAsync(string blobName) => (await Container.GetBlobClient(blobName).DownloadContentAsync()).Value.Content.ToArray();

    /// <summary>Every result row a job stored, results blob after results blob (batch order).</summary>
    public async Task<List<FetchFunctions.Core.Orchestration.UrlResult>> ResultsAsync(string jobId)
    {
        var rows = new List<FetchFunctions.Core.Orchestration.UrlResult>();
        await foreach (var blob in Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = FetchFunctions.Core.Storage.BlobNames.BatchResultsPrefix(jobId) }))
        {
            rows.AddRange(System.Text.Encoding.UTF8.GetString(await DownloadAsync(blob.Name))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => System.Text.Json.JsonSerializer.Deserialize(line, FetchFunctions.Core.Jobs.CrawlJsonContext.Default.UrlResult)!));
        }

        return rows;
    }

    public async Task<bool> ExistsAsync(string blobName) => (await Container.GetBlobClient(blobName).ExistsAsync()).Value;

    public async ValueTask DisposeAsync()
    {
        await Container.DeleteIfExistsAsync();
        await Provider.DisposeAsync();
    }
}
