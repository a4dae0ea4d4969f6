using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core;

/// <summary>The one DI entry point of Core.</summary>
public static class FetchFunctionsServiceCollectionExtensions
{
    /// <summary>Registers the fetch engine, the crawl job services and their options (validated at start-up).
    /// The host registers <c>Azure.Storage.Blobs.BlobServiceClient</c> and <c>Azure.Storage.Queues.QueueServiceClient</c>
    /// (connection string locally, managed identity in Azure) and, optionally, a <see cref="TimeProvider"/>.
    /// The queue client must be created with <c>QueueClientOptions.MessageEncoding = QueueMessageEncoding.Base64</c>,
    /// the encoding the Functions queue trigger reads: <c>ICrawlIntake.EnqueueAsync</c> sends the ticket as text and
    /// leaves the encoding to the client.</summary>
    public static IServiceCollection AddFetchFunctionsCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddFetchEngine(configuration);
        services.AddCrawlJobs(configuration);
        return services;
    }
}
