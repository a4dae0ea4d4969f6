using Azure;
using Azure.Storage.Blobs;
using FetchFunctions.Cli.Tests.Infrastructure;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Cli.Tests;

/// <summary>crawl and enqueue over a job id that already has a run: one rule with the HTTP API (JobRuns.StartsNewRun),
/// read from the job's blobs and its run lease.</summary>
public sealed class JobIdStateTests
{
    private sealed record Run(int ExitCode, string Output, string Error);

    private static async Task<Run> RunAsync(string container, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new Dictionary<string, string?> { ["Storage__ContainerName"] = container, ["Fetch__RetryBaseDelay"] = "00:00:00.010" };
        var app = new CliApp(TestConsoles.Create(output), TestConsoles.Create(error), environment);
        var exitCode = await app.RunAsync([.. args, "--connection-string", await SharedAzurite.ConnectionStringAsync()], CancellationToken.None);
        return new Run(exitCode, output.ToString(), error.ToString());
    }

    private static async Task<BlobContainerClient> ContainerAsync(string name) =>
        new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(name);

    private static async Task<(ETag Job, ETag Urls)> StoredJobAsync(BlobContainerClient container, string jobId) =>
        ((await container.GetBlobClient($"{jobId}/job.json").GetPropertiesAsync()).Value.ETag,
         (await container.GetBlobClient($"{jobId}/urls.txt").GetPropertiesAsync()).Value.ETag);

    private static async Task<ServiceProvider> CoreAsync(string container) =>
        CoreHost.Build(await SharedAzurite.ConnectionStringAsync(), new Dictionary<string, string?> { ["Storage:ContainerName"] = container }, [], Microsoft.Extensions.Logging.Abstractions.NullLoggerProvider.Instance);

    private static string NewContainer() => $"c{Guid.NewGuid():N}";

    [Theory]
    [InlineData("crawl")]
    [InlineData("enqueue")]
    public async Task CrawlOrEnqueue_CompletedJob_ExitsTwoNamingItAndChangesNothing(string command)
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();
        var crawled = await RunAsync(container, "crawl", "--job-id", "done-1", "--allow-network", "127.0.0.1/32", "--url", server.Url("/bytes/10").AbsoluteUri);
        Assert.True(crawled.ExitCode == ExitCodes.Success, crawled.Error);
        var blobs = await ContainerAsync(container);
        var before = await StoredJobAsync(blobs, "done-1");

        var again = await RunAsync(container, command, "--job-id", "done-1", "--allow-network", "127.0.0.1/32", "--url", server.Url("/bytes/20").AbsoluteUri);

        Assert.Equal(ExitCodes.InvalidInput, again.ExitCode);
        Assert.Contains("Job 'done-1' is completed", again.Error, StringComparison.Ordinal);
        Assert.Equal(before, await StoredJobAsync(blobs, "done-1"));
    }

    [Fact]
    public async Task Enqueue_InterruptedJob_IsStoredAgain()
    {
        var container = NewContainer();
        var first = await RunAsync(container, "enqueue", "--job-id", "again-1", "--url", "http://127.0.0.1/one");
        Assert.True(first.ExitCode == ExitCodes.Success, first.Error);
        var blobs = await ContainerAsync(container);
        var before = await StoredJobAsync(blobs, "again-1");

        // Stored but never summarised, and no run holds it: a failed or interrupted job, which runs again.
        var second = await RunAsync(container, "enqueue", "--job-id", "again-1", "--url", "http://127.0.0.1/two");

        Assert.True(second.ExitCode == ExitCodes.Success, second.Error);
        Assert.NotEqual(before.Job, (await StoredJobAsync(blobs, "again-1")).Job);
    }

    [Fact]
    public async Task Crawl_ActiveJob_WaitsALeasePeriodThenExitsTwoAndChangesNothing()
    {
        var container = NewContainer();
        var first = await RunAsync(container, "enqueue", "--job-id", "busy-1", "--url", "http://127.0.0.1/one");
        Assert.True(first.ExitCode == ExitCodes.Success, first.Error);
        var blobs = await ContainerAsync(container);
        var before = await StoredJobAsync(blobs, "busy-1");
        using var core = await CoreAsync(container);
        var runs = core.GetRequiredService<IJobRunStore>();
        await using var running = await runs.TryHoldAsync("busy-1", CancellationToken.None);
        Assert.NotNull(running);

        var crawl = await RunAsync(container, "crawl", "--job-id", "busy-1", "--url", "http://127.0.0.1/two");
        var enqueue = await RunAsync(container, "enqueue", "--job-id", "busy-1", "--url", "http://127.0.0.1/two");

        Assert.Equal((ExitCodes.InvalidInput, ExitCodes.InvalidInput), (crawl.ExitCode, enqueue.ExitCode));
        Assert.Contains("waiting up to 15 s", crawl.Error, StringComparison.Ordinal);
        Assert.Contains("Job 'busy-1' is active", crawl.Error, StringComparison.Ordinal);
        Assert.Contains("Job 'busy-1' is active", enqueue.Error, StringComparison.Ordinal);
        Assert.Equal(before, await StoredJobAsync(blobs, "busy-1"));
        Assert.Equal(PriorRun.Active, await runs.GetPriorRunAsync("busy-1", CancellationToken.None));
    }
}
