using System.Net;
using System.Net.Sockets;
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

    /// <summary>A loopback port held (bound and listening) by the test itself for as long as the socket lives.</summary>
    private static (Socket Holder, int Port) HoldPort()
    {
        var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        return (holder, ((IPEndPoint)holder.LocalEndPoint!).Port);
    }

    [Fact]
    public async Task AzuriteProcess_PortTaken_FailsWithAddressInUse()
    {
        var (holder, port) = HoldPort();
        using (holder)
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                AzuriteProcess.StartAsync(dataFolder: null, port, 0, 0, TimeSpan.FromMinutes(2), CancellationToken.None));

            Assert.True(TestPorts.IsAddressInUse(error), error.ToString());
            Assert.Contains($"EADDRINUSE: address already in use 127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TestPorts_AzuriteFirstGivenATakenPort_StartsItOnFreshPorts()
    {
        var (holder, port) = HoldPort();
        using (holder)
        {
            var handOut = new Queue<int>([port]);

            await using var azurite = await TestPorts.StartAsync(3,
                ports => AzuriteProcess.StartAsync(dataFolder: null, ports[0], ports[1], ports[2], TimeSpan.FromMinutes(2), CancellationToken.None),
                () => handOut.TryDequeue(out var next) ? next : Random.Shared.Next(TestPorts.Range.Low, TestPorts.Range.High));

            Assert.Empty(handOut);
            Assert.NotEqual(port, azurite.BlobPort);
            Assert.InRange(azurite.BlobPort, TestPorts.Range.Low, TestPorts.Range.High - 1);
            await new BlobServiceClient(azurite.ConnectionString).GetPropertiesAsync();
        }
    }
}
