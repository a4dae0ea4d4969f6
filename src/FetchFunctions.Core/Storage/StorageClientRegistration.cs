using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Storage;

/// <summary>Registers the <see cref="Azure.Storage.Blobs.BlobServiceClient"/> and <see cref="QueueServiceClient"/>
/// Core needs from a Functions-style storage connection (by default the host's own <c>AzureWebJobsStorage</c>): a
/// connection string, or identity-based settings (<c>__blobServiceUri</c>, <c>__queueServiceUri</c> or
/// <c>__accountName</c>, <c>__credential</c>, <c>__clientId</c>).</summary>
public static class StorageClientRegistration
{
    public const string ConnectionName = "AzureWebJobsStorage";

    public static IServiceCollection AddFetchFunctionsStorage(this IServiceCollection services, IConfiguration configuration, string connectionName = ConnectionName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var storage = configuration.GetSection(connectionName);

        services.AddAzureClients(clients =>
        {
            if (!string.IsNullOrEmpty(storage.Value))
            {
                // A connection string ("UseDevelopmentStorage=true" locally): the section-based overloads treat the
                // section's own value as the client's connectionString argument.
                IConfiguration connection = storage;
                clients.AddBlobServiceClient(connection).ConfigureOptions(ConfigureClientOptions);
                clients.AddQueueServiceClient(connection).ConfigureOptions(UseQueueTriggerEncoding).ConfigureOptions(ConfigureClientOptions);
                return;
            }

            // Identity-based connection (AzureWebJobsStorage__blobServiceUri, __queueServiceUri, __credential,
            // __clientId). The section-based overloads would look for a "serviceUri" key, so the URIs are read here.
            var credential = CreateCredential(storage);
            clients.AddBlobServiceClient(ServiceUri(storage, connectionName, "blob")).WithCredential(credential).ConfigureOptions(ConfigureClientOptions);
            clients.AddQueueServiceClient(ServiceUri(storage, connectionName, "queue"))
                .WithCredential(credential)
                .ConfigureOptions(UseQueueTriggerEncoding)
                .ConfigureOptions(ConfigureClientOptions);
        });
        return services;
    }

    /// <summary>Core's storage retry (see <c>Storage:RetryBudget</c>): exponential backoff for a bounded time once storage
    /// has answered, a few quick tries before. Part of <see cref="ConfigureClientOptions"/>.</summary>
    public static RetryPolicy CreateRetryPolicy(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new StorageRetryPolicy(services.GetRequiredService<IOptions<StorageOptions>>().Value.RetryBudget,
            services.GetService<TimeProvider>() ?? TimeProvider.System, services.GetService<Telemetry.CrawlTelemetry>());
    }

    /// <summary>Core's options for a storage client (blob or queue): Core's retry (<see cref="CreateRetryPolicy"/>) and no
    /// per-request logging. The SDK's logging policy builds a log record of every request and response (about 6 KB
    /// allocated per 2 KiB upload, measured with <c>--parts profile</c>) even with no listener, and in the Functions app
    /// Microsoft.Extensions.Azure forwards it to the host's logs; Core reports what failed itself (the retry names the
    /// operation and the last error). Distributed tracing and the telemetry header stay on: without a listener neither
    /// costs anything measurable, and with OpenTelemetry the spans are wanted. Hosts that create their own storage
    /// clients call this on their options.</summary>
    public static void ConfigureClientOptions(ClientOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        options.RetryPolicy = CreateRetryPolicy(services);
        options.Diagnostics.IsLoggingEnabled = false;
    }

    /// <summary>The queue extension reads and writes Base64 message bodies by default (host.json
    /// <c>extensions.queues.messageEncoding</c>); Core's queue client must match it.</summary>
    private static void UseQueueTriggerEncoding(QueueClientOptions options) => options.MessageEncoding = QueueMessageEncoding.Base64;

    private static Uri ServiceUri(IConfigurationSection storage, string connectionName, string service)
    {
        var explicitUri = storage[$"{service}ServiceUri"];
        if (!string.IsNullOrEmpty(explicitUri))
        {
            return new Uri(explicitUri, UriKind.Absolute);
        }

        var accountName = storage["accountName"];
        if (!string.IsNullOrEmpty(accountName))
        {
            return new Uri($"https://{accountName}.{service}.core.windows.net", UriKind.Absolute);
        }

        throw new InvalidOperationException(
            $"{connectionName} is neither a connection string nor has {connectionName}__{service}ServiceUri " +
            $"(or {connectionName}__accountName) set.");
    }

    /// <summary>Same meaning as the host's identity-based connections: <c>credential=managedidentity</c> with an
    /// optional <c>clientId</c> (user-assigned), otherwise the default credential chain.</summary>
    private static TokenCredential CreateCredential(IConfigurationSection storage)
    {
        if (string.Equals(storage["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            var clientId = storage["clientId"];
            return new ManagedIdentityCredential(string.IsNullOrEmpty(clientId)
                ? ManagedIdentityId.SystemAssigned
                : ManagedIdentityId.FromUserAssignedClientId(clientId));
        }

        return new DefaultAzureCredential();
    }
}
