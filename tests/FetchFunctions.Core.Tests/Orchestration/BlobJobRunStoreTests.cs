using Azure.Storage.Blobs.Specialized;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class BlobJobRunStoreTests
{
    private static async Task<(IJobRunStore Sut, EngineHost Host)> CreateSutAsync()
    {
        var host = await EngineHost.StartAsync();
        return (host.Provider.GetRequiredService<IJobRunStore>(), host);
    }

    private static async Task StoreJobAsync(EngineHost host, string jobId)
    {
        var result = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(
            new CrawlJobRequest { JobId = jobId, Urls = ["http://127.0.0.1/a"] }, CancellationToken.None);
        Assert.True(result.Accepted);
    }

    [Fact]
    public async Task GetPriorRunAsync_EachStateOfTheBlobs_IsReadAsTheHttpApiNamesIt()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        Assert.Equal(PriorRun.None, await sut.GetPriorRunAsync("runs-1", CancellationToken.None));
        await StoreJobAsync(host, "runs-1");
        Assert.Equal(PriorRun.Failed, await sut.GetPriorRunAsync("runs-1", CancellationToken.None));
        await using (var hold = await sut.TryHoldAsync("runs-1", CancellationToken.None))
        {
            Assert.NotNull(hold);
            Assert.Equal(PriorRun.Failed, hold.PriorRun);
            Assert.Equal(PriorRun.Active, await sut.GetPriorRunAsync("runs-1", CancellationToken.None));
        }

        Assert.Equal(PriorRun.Failed, await sut.GetPriorRunAsync("runs-1", CancellationToken.None));
        await host.Container.UploadBlobAsync(BlobNames.Summary("runs-1"), BinaryData.FromString("{}"));
        Assert.Equal(PriorRun.Completed, await sut.GetPriorRunAsync("runs-1", CancellationToken.None));
    }

    [Fact]
    public async Task TryHoldAsync_HeldByAnotherRun_ReturnsNullUntilReleased()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        await StoreJobAsync(host, "runs-2");

        var first = await sut.TryHoldAsync("runs-2", CancellationToken.None);
        Assert.NotNull(first);
        Assert.Null(await sut.TryHoldAsync("runs-2", CancellationToken.None));
        await first.DisposeAsync();

        await using var second = await sut.TryHoldAsync("runs-2", CancellationToken.None);
        Assert.NotNull(second);
    }

    [Fact]
    public async Task DisposeAsync_NoJobWasStored_LeavesNoLeaseBlob()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        var hold = await sut.TryHoldAsync("runs-3", CancellationToken.None);
        Assert.NotNull(hold);
        Assert.Equal(PriorRun.None, hold.PriorRun);
        await hold.DisposeAsync();

        Assert.False(await host.ExistsAsync(BlobNames.RunLease("runs-3")));
        Assert.Equal(PriorRun.None, await sut.GetPriorRunAsync("runs-3", CancellationToken.None));
    }

    [Fact]
    public async Task TryHoldAsync_HeldLongerThanALeasePeriod_StaysHeldWhileALeaseNotRenewedLapses()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        await StoreJobAsync(host, "runs-4");
        await StoreJobAsync(host, "runs-5");
        await using var renewed = await sut.TryHoldAsync("runs-4", CancellationToken.None);
        Assert.NotNull(renewed);

        // A run killed right after taking its lease: taken the same way, never renewed.
        await using (var killed = await sut.TryHoldAsync("runs-5", CancellationToken.None))
        {
            Assert.NotNull(killed);
        }

        await host.Container.GetBlobClient(BlobNames.RunLease("runs-5")).GetBlobLeaseClient().AcquireAsync(sut.LeasePeriod);
        Assert.Equal(PriorRun.Active, await sut.GetPriorRunAsync("runs-5", CancellationToken.None));

        await Poll.UntilAsync(async () => await sut.GetPriorRunAsync("runs-5", CancellationToken.None) == PriorRun.Failed,
            "the killed run's lease to lapse", sut.LeasePeriod * 3);

        Assert.Equal(PriorRun.Active, await sut.GetPriorRunAsync("runs-4", CancellationToken.None));
    }
}
