using Azure.Storage.Blobs;
using FetchFunctions.Cli.LocalStorage;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>One in-memory Azurite for the whole test run (started on first use, free ports, stopped at exit);
/// each test gets its own container.</summary>
internal static class SharedAzurite
{
    private static readonly Lazy<Task<AzuriteProcess>> Instance = new(StartAsync);

    public static Task<AzuriteProcess> GetAsync() => Instance.Value;

    public static async Task<string> ConnectionStringAsync() => (await GetAsync()).ConnectionString;

    /// <summary>A new, empty container with a unique name.</summary>
    public static async Task<BlobContainerClient> CreateContainerAsync()
    {
        var service = new BlobServiceClient(await ConnectionStringAsync());
        var container = service.GetBlobContainerClient($"t{Guid.NewGuid():N}");
        await container.CreateAsync();
        return container;
    }

    private static async Task<AzuriteProcess> StartAsync()
    {
        var azurite = await AzuriteProcess.StartAsync(dataFolder: null, 0, 0, 0, TimeSpan.FromMinutes(2), CancellationToken.None);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.Stop();
        return azurite;
    }
}
