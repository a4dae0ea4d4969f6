using Azure.Storage.Blobs;
using FetchFunctions.Cli.LocalStorage;
using FetchFunctions.Core.Tests.Infrastructure;

namespace FetchFunctions.Cli.Tests.LocalStorage;

public sealed class AzuriteProcessTests
{
    private static Task<AzuriteProcess> CreateSutAsync() =>
        AzuriteProcess.StartAsync(dataFolder: null, 0, 0, 0, TimeSpan.FromMinutes(2), CancellationToken.None);

    [Fact]
    public async Task AzuriteProcess_StarterGone_AzuriteExits()
    {
        await using var azurite = await CreateSutAsync();
        var blobs = new BlobServiceClient(azurite.ConnectionString);
        await blobs.GetPropertiesAsync();

        // When the starting process dies, however it dies, the OS closes its end of Azurite's standard input: the same as this.
        azurite.ChildProcess.StandardInput.Close();

        await Poll.UntilAsync(() => azurite.ChildProcess.HasExited, "Azurite to exit after its starter's pipe closed");
    }
}
