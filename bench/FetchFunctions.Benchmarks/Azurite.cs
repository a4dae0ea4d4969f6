using Azure.Storage.Blobs;
using FetchFunctions.Cli.LocalStorage;

namespace FetchFunctions.Benchmarks;

/// <summary>A fresh in-memory Azurite per measured run: its speed drops as blobs accumulate and are overwritten.</summary>
internal static class Azurite
{
    public static async Task<(AzuriteProcess Process, BlobContainerClient Container)> StartFreshAsync(CancellationToken cancellationToken)
    {
        var azurite = await AzuriteProcess.StartAsync(dataFolder: null, 0, 0, 0, TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        try
        {
            var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(CoreHost.ContainerName);
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return (azurite, container);
        }
        catch
        {
            await azurite.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
