using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Storage;

// Clients are only built here; no test sends a request through them but to the shared Azurite or a loopback port nothing listens on.
public sealed class StorageClientRegistrationTests
{
    private static ServiceProvider CreateSut(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddFetchFunctionsStorage(configuration, settings.ContainsKey("TestStorage") ? "TestStorage" : StorageClientRegistration.ConnectionName);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void AddFetchFunctionsStorage_DevelopmentStorage_UsesTheEmulatorEndpoints()
    {
        using var sut = CreateSut(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" });

        var blobs = sut.GetRequiredService<BlobServiceClient>();
        var queues = sut.GetRequiredService<QueueServiceClient>();

        Assert.Equal("devstoreaccount1", blobs.AccountName);
        Assert.Equal(10000, blobs.Uri.Port);
        Assert.Equal(10001, queues.Uri.Port);
    }

    [Fact]
    public async Task AddFetchFunctionsStorage_ConnectionString_QueueWritesBase64AsTheQueueTriggerReads()
    {
        var connection = await SharedAzurite.ConnectionStringAsync();
        using var sut = CreateSut(new() { ["TestStorage"] = connection });
        var queueName = $"q{Guid.NewGuid():N}";
        var queue = sut.GetRequiredService<QueueServiceClient>().GetQueueClient(queueName);
        await queue.CreateAsync();

        await queue.SendMessageAsync("{\"jobId\":\"a\"}");

        var raw = (await new QueueClient(connection, queueName).ReceiveMessageAsync()).Value;
        Assert.Equal("{\"jobId\":\"a\"}", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(raw.MessageText)));
    }

    [Fact]
    public async Task AddFetchFunctionsStorage_ConnectionString_ClientsRetryWithCoresStoragePolicy()
    {
        // A loopback port nothing listens on: both clients give up after Core's first-contact tries and say what failed.
        using var sut = CreateSut(new() { ["AzureWebJobsStorage"] = Cli.LocalStorage.AzuriteProcess.ConnectionStringFor(1, 1, 1) });

        var blobError = await Assert.ThrowsAsync<RequestFailedException>(() => sut.GetRequiredService<BlobServiceClient>().GetPropertiesAsync());
        var queueError = await Assert.ThrowsAsync<RequestFailedException>(() => sut.GetRequiredService<QueueServiceClient>().GetPropertiesAsync());

        Assert.StartsWith("storage could not be reached for GET 127.0.0.1:1/devstoreaccount1", blobError.Message, StringComparison.Ordinal);
        Assert.StartsWith("storage could not be reached for GET 127.0.0.1:1/devstoreaccount1", queueError.Message, StringComparison.Ordinal);
        Assert.Contains($"({StorageRetryPolicy.FirstContactTries} tries)", blobError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddFetchFunctionsStorage_ConnectionString_BlobRequestsAreNotLoggedBySdk()
    {
        // The SDK's logging policy writes a "Request" event per request to the Azure-Core event source; Core's clients
        // leave it out (its cost per small upload). A client with the SDK's defaults proves the listener sees them.
        var connection = await SharedAzurite.ConnectionStringAsync();
        using var sut = CreateSut(new() { ["AzureWebJobsStorage"] = connection });
        var core = sut.GetRequiredService<BlobServiceClient>().GetBlobContainerClient($"core{Guid.NewGuid():N}");
        var defaults = new BlobServiceClient(connection).GetBlobContainerClient($"sdk{Guid.NewGuid():N}");
        var requests = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using (new Azure.Core.Diagnostics.AzureEventSourceListener(
            (e, _) =>
            {
                if (e.EventName == "Request")
                {
                    requests.Enqueue(string.Join(' ', e.Payload ?? []));
                }
            },
            System.Diagnostics.Tracing.EventLevel.Informational))
        {
            await core.ExistsAsync();
            await defaults.ExistsAsync();
        }

        Assert.Contains(requests, r => r.Contains(defaults.Name, StringComparison.Ordinal));
        Assert.DoesNotContain(requests, r => r.Contains(core.Name, StringComparison.Ordinal));
    }

    [Fact]
    public void AddFetchFunctionsStorage_IdentityBasedSettings_UsesTheServiceUris()
    {
        using var sut = CreateSut(new()
        {
            ["AzureWebJobsStorage:blobServiceUri"] = "https://stfetch.blob.core.windows.net",
            ["AzureWebJobsStorage:queueServiceUri"] = "https://stfetch.queue.core.windows.net",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        });

        var blobs = sut.GetRequiredService<BlobServiceClient>();
        var queues = sut.GetRequiredService<QueueServiceClient>();

        Assert.Equal(new Uri("https://stfetch.blob.core.windows.net"), blobs.Uri);
        Assert.Equal(new Uri("https://stfetch.queue.core.windows.net"), queues.Uri);
    }

    [Fact]
    public void AddFetchFunctionsStorage_AccountNameOnly_DerivesPublicCloudUris()
    {
        using var sut = CreateSut(new() { ["AzureWebJobsStorage:accountName"] = "stfetch" });

        Assert.Equal(new Uri("https://stfetch.blob.core.windows.net"), sut.GetRequiredService<BlobServiceClient>().Uri);
        Assert.Equal(new Uri("https://stfetch.queue.core.windows.net"), sut.GetRequiredService<QueueServiceClient>().Uri);
    }

    [Fact]
    public void AddFetchFunctionsStorage_NothingConfigured_FailsNamingTheSettings()
    {
        var error = Assert.Throws<InvalidOperationException>(() => CreateSut([]));

        Assert.Contains("AzureWebJobsStorage__blobServiceUri", error.Message, StringComparison.Ordinal);
    }
}
