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

    [Fact]
    public async Task AzuriteProcess_InterruptedLikeCtrlC_KeepsServingUntilItsStarterStopsIt()
    {
        await using var azurite = await CreateSutAsync();
        var blobs = new BlobServiceClient(azurite.ConnectionString);
        await blobs.GetPropertiesAsync();

        // A terminal's Ctrl+C reaches Azurite too; the CLI is still finishing its own cancellation against it.
        using (var interrupt = System.Diagnostics.Process.Start("kill", ["-INT", azurite.ChildProcess.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await interrupt.WaitForExitAsync();
        }

        for (var i = 0; i < 20; i++)
        {
            await blobs.GetBlobContainerClient($"after-interrupt-{i}").CreateAsync();
        }

        Assert.False(azurite.ChildProcess.HasExited);
        Assert.True(await azurite.StopAsync(), "Azurite stopped gracefully when its starter asked");
    }
}
