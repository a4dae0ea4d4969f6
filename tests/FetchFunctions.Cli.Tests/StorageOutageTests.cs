using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Cli.LocalStorage;
using FetchFunctions.Cli.Tests.Infrastructure;
using FetchFunctions.Core.Tests.Infrastructure;
using Spectre.Console;

namespace FetchFunctions.Cli.Tests;

/// <summary>Storage that goes away during a run and comes back: a test-owned Azurite (data in a folder, so a graceful
/// stop keeps everything) stopped part-way and started again on the same ports and folder. Its ports come from
/// <see cref="TestPorts"/>, not port 0: a port the OS chose is one it may hand to anything else (an outgoing connection,
/// another server on port 0) while Azurite is down; TestPorts' ports are ones it never hands out by itself.</summary>
public sealed class StorageOutageTests
{
    private const int Urls = 150;

    private static (CliApp App, StringWriter Error) CreateSut(IDictionary<string, string?>? settings = null)
    {
        var error = new StringWriter();
        var environment = new Dictionary<string, string?> { ["Fetch__RetryBaseDelay"] = "00:00:00.010" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return (new CliApp(TestConsoles.Create(new StringWriter()), TestConsoles.Create(error), environment), error);
    }

    private static string[] CrawlArgs(LoopbackServer server, string run, string connectionString) =>
    [
        "crawl", "--job-id", run, "--batch-size", "10", "--batches-in-flight", "2", "--per-host", "1", "--per-host-delay-ms", "20",
        "--allow-network", "127.0.0.1/32", "--connection-string", connectionString,
        .. Enumerable.Range(0, Urls).SelectMany(i => new[] { "--url", server.Url($"/crawl/{run}/ok/{i}/300").AbsoluteUri }),
    ];

    private static async Task<List<JsonElement>> ResultsAsync(BlobContainerClient container, string run)
    {
        var results = new List<JsonElement>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"{run}/results/" }))
        {
            var text = (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString();
            results.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement));
        }

        return results;
    }

    private static Task<AzuriteProcess> StartAsync(string folder) =>
        TestPorts.StartAsync(3, ports => StartAsync(folder, ports[0], ports[1], ports[2]));

    private static Task<AzuriteProcess> StartAsync(string folder, int blob, int queue, int table) =>
        AzuriteProcess.StartAsync(folder, blob, queue, table, TimeSpan.FromMinutes(2), CancellationToken.None);

    [Fact]
    public async Task Crawl_StorageStoppedAndRestartedDuringTheRun_CompletesWithEveryResult()
    {
        var server = await LoopbackServer.Shared;
        var run = $"blip{Guid.NewGuid():N}"[..16];
        var folder = Path.Combine(Path.GetTempPath(), $"fetchfn-blip-{Guid.NewGuid():N}");
        var azurite = await StartAsync(folder);
        var (blob, queue, table, connection) = (azurite.BlobPort, azurite.QueuePort, azurite.TablePort, azurite.ConnectionString);
        try
        {
            var (app, error) = CreateSut();
            var crawl = app.RunAsync(CrawlArgs(server, run, connection), CancellationToken.None);

            await Poll.UntilAsync(() => server.Counter($"{run}:ok:requests") >= 30, "the run to be under way", TimeSpan.FromMinutes(2));
            Assert.True(await azurite.StopAsync(), "Azurite stopped gracefully");
            await azurite.DisposeAsync();
            var requestsAtStop = server.Counter($"{run}:ok:requests");

            // A deliberate outage of a few seconds, during which the run keeps fetching and storage refuses everything.
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.False(crawl.IsCompleted, error.ToString());
            azurite = await StartAsync(folder, blob, queue, table);

            Assert.True(await crawl == ExitCodes.Success, error.ToString());
            Assert.True(requestsAtStop < Urls, "the outage came in the middle of the run");
            var container = new BlobServiceClient(connection).GetBlobContainerClient("crawls");
            var results = await ResultsAsync(container, run);
            Assert.Equal(Urls, results.Count);
            Assert.All(results, r => Assert.Equal(200, r.GetProperty("status").GetInt32()));
            Assert.True((await container.GetBlobClient($"{run}/summary.json").ExistsAsync()).Value);
        }
        finally
        {
            await azurite.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Crawl_StorageGoneLongerThanTheBudget_ExitsThreeNamingItAndARerunResumes()
    {
        var server = await LoopbackServer.Shared;
        var run = $"gone{Guid.NewGuid():N}"[..16];
        var folder = Path.Combine(Path.GetTempPath(), $"fetchfn-gone-{Guid.NewGuid():N}");
        var azurite = await StartAsync(folder);
        var (blob, queue, table, connection) = (azurite.BlobPort, azurite.QueuePort, azurite.TablePort, azurite.ConnectionString);
        try
        {
            var (app, error) = CreateSut(new Dictionary<string, string?> { ["Storage__RetryBudget"] = "00:00:02" });
            var crawl = app.RunAsync(CrawlArgs(server, run, connection), CancellationToken.None);
            await Poll.UntilAsync(() => server.Counter($"{run}:ok:requests") >= 30, "the run to be under way", TimeSpan.FromMinutes(2));
            Assert.True(await azurite.StopAsync(), "Azurite stopped gracefully");
            await azurite.DisposeAsync();

            Assert.Equal(ExitCodes.InfrastructureFailure, await crawl);
            Assert.Contains("within the retry budget of 2 s (Storage:RetryBudget)", error.ToString(), StringComparison.Ordinal);

            azurite = await StartAsync(folder, blob, queue, table);
            var container = new BlobServiceClient(connection).GetBlobContainerClient("crawls");
            var kept = (await ResultsAsync(container, run)).Select(r => r.GetProperty("url").GetString()!).ToHashSet(StringComparer.Ordinal);
            var (again, againError) = CreateSut();
            Assert.True(await again.RunAsync(CrawlArgs(server, run, connection), CancellationToken.None) == ExitCodes.Success, againError.ToString());

            Assert.NotEmpty(kept);
            Assert.All(kept, url => Assert.Equal(1, server.Attempts($"{run}:ok:{url.Split('/')[^2]}")));
            Assert.Equal(Urls, (await ResultsAsync(container, run)).Count);
        }
        finally
        {
            await azurite.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Crawl_NothingListeningAtStart_FailsFastNamingWhatCouldNotBeReached()
    {
        var (app, error) = CreateSut();

        var exitCode = await app.RunAsync(["crawl", "--url", "http://127.0.0.1/", "--connection-string", AzuriteProcess.ConnectionStringFor(1, 1, 1)],
            CancellationToken.None);

        Assert.Equal(ExitCodes.InfrastructureFailure, exitCode);
        Assert.Contains("storage could not be reached for", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", error.ToString(), StringComparison.Ordinal);
    }
}
