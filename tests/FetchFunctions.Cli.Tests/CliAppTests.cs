using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Tests.Infrastructure;
using Spectre.Console;

namespace FetchFunctions.Cli.Tests;

public sealed class CliAppTests
{
    private sealed record Run(int ExitCode, string Output, string Error);

    private static async Task<(CliApp App, StringWriter Output, StringWriter Error)> CreateSutAsync(string container, IDictionary<string, string?>? settings = null)
    {
        _ = await SharedAzurite.GetAsync();
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new Dictionary<string, string?> { ["Storage__ContainerName"] = container, ["Fetch__RetryBaseDelay"] = "00:00:00.010" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return (new CliApp(Console(output), Console(error), environment), output, error);
    }

    private static IAnsiConsole Console(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });

        // As Main sets up a redirected console: messages are not folded, whatever the checkout's path length.
        console.Profile.Width = CliApp.UnfoldedWidth;
        return console;
    }

    private static async Task<Run> RunAsync(string container, params string[] args)
    {
        var (app, output, error) = await CreateSutAsync(container);
        var connection = await SharedAzurite.ConnectionStringAsync();
        var withStorage = args.Length > 0 && args[0] is "crawl" or "enqueue" or "status" or "demo"
            ? [.. args, "--connection-string", connection]
            : args;
        var exitCode = await app.RunAsync(withStorage, CancellationToken.None);
        return new Run(exitCode, output.ToString(), error.ToString());
    }

    private static string NewContainer() => $"c{Guid.NewGuid():N}";

    [Fact]
    public async Task Crawl_MixedUrls_RunsJobPrintsSummaryAndExitsZero()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();

        var run = await RunAsync(container, "crawl", "--job-id", "cli-mixed", "--allow-network", "127.0.0.1/32",
            "--url", server.Url("/bytes/1000").AbsoluteUri, "--url", server.Url("/status/404").AbsoluteUri,
            "--url", server.Url("/chunked/5000").AbsoluteUri);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
        Assert.Contains("cli-mixed", run.Output, StringComparison.Ordinal);
        Assert.Contains("HTTP 404", run.Output, StringComparison.Ordinal);
        Assert.Contains("error: HttpStatus", run.Output, StringComparison.Ordinal);
        Assert.Contains("cli-mixed/summary.json", run.Output, StringComparison.Ordinal);
        var summary = new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container).GetBlobClient("cli-mixed/summary.json");
        Assert.True((await summary.ExistsAsync()).Value);
    }

    [Fact]
    public async Task Crawl_JobFileWithFlagOverride_UsesBoth()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();
        var file = Path.Combine(Path.GetTempPath(), $"job-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$"""
            {
              // Comments and trailing commas are accepted in job files.
              "jobId": "from-file",
              "urls": ["{{server.Url("/bytes/10")}}", "{{server.Url("/bytes/20")}}", "{{server.Url("/bytes/10")}}"],
              "options": { "maxRetries": 1, "allowedNetworks": ["127.0.0.1/32"], },
            }
            """);
        try
        {
            var run = await RunAsync(container, "crawl", file, "--allow-network", "127.0.0.1/32", "--user-agent", "FileJob/1.0");

            Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
            Assert.Contains("1 duplicate URL(s) removed", run.Output, StringComparison.Ordinal);
            var blobs = new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container);
            var job = (await blobs.GetBlobClient("from-file/job.json").DownloadContentAsync()).Value.Content.ToString();
            Assert.Contains("FileJob/1.0", job, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_UrlsFileAboveInlineLimit_GoesThroughABlobAndRunsEveryUrl()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();
        var file = Path.Combine(Path.GetTempPath(), $"urls-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(file, ["# a comment", .. Enumerable.Range(0, 12).Select(i => server.Url($"/bytes/{i + 1}").AbsoluteUri), ""]);
        var (app, output, error) = await CreateSutAsync(container, new Dictionary<string, string?> { ["Crawl__MaxInlineUrls"] = "5" });
        try
        {
            var exitCode = await app.RunAsync(["crawl", "--job-id", "listed", "--urls-file", file, "--allow-network", "127.0.0.1/32",
                "--connection-string", await SharedAzurite.ConnectionStringAsync()], CancellationToken.None);

            Assert.True(exitCode == ExitCodes.Success, error.ToString() + output);
            var blobs = new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container);
            var uploads = new List<string>();
            await foreach (var blob in blobs.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "_uploads/" }))
            {
                uploads.Add(blob.Name);
            }

            Assert.Single(uploads);
            var stored = (await blobs.GetBlobClient("listed/urls.txt").DownloadContentAsync()).Value.Content.ToString();
            Assert.Equal(12, stored.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_FailureRateAboveThreshold_ExitsOne()
    {
        var server = await LoopbackServer.Shared;

        var run = await RunAsync(NewContainer(), "crawl", "--allow-network", "127.0.0.1/32", "--fail-above", "0.2",
            "--url", server.Url("/bytes/10").AbsoluteUri, "--url", server.Url("/status/404").AbsoluteUri);

        Assert.Equal(ExitCodes.FailureRateExceeded, run.ExitCode);
        Assert.Contains("--fail-above", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crawl_DefaultPolicy_BlocksLoopbackAsAResultNotACrash()
    {
        var server = await LoopbackServer.Shared;
        var key = Guid.NewGuid().ToString("N");

        var run = await RunAsync(NewContainer(), "crawl", "--url", server.Url($"/flaky/{key}/0/500").AbsoluteUri);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("BlockedByPolicy", run.Output, StringComparison.Ordinal);
        Assert.Equal(0, server.Attempts(key));
    }

    [Fact]
    public async Task Crawl_InvalidSettingsInTwoSections_ExitsTwoListingBoth()
    {
        var (app, _, error) = await CreateSutAsync(NewContainer(), new Dictionary<string, string?>
        {
            ["Fetch__MaxRetries"] = "-1",
            ["Crawl__BatchSize"] = "0",
        });

        var exitCode = await app.RunAsync(["crawl", "--url", "http://127.0.0.1/", "--connection-string", await SharedAzurite.ConnectionStringAsync()], CancellationToken.None);

        // Invalid input (2), not an infrastructure failure (3), with both sections' problems.
        Assert.Equal(ExitCodes.InvalidInput, exitCode);
        Assert.Contains("MaxRetries", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("BatchSize", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crawl_JobFileNamesAListBlobAndFlagsAddManyUrls_ReportsTheConflictInsteadOfReplacingTheBlob()
    {
        var container = NewContainer();
        var file = Path.Combine(Path.GetTempPath(), $"job-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{ \"urlListBlob\": \"lists/mine.txt\" }");
        var (app, _, error) = await CreateSutAsync(container, new Dictionary<string, string?> { ["Crawl__MaxInlineUrls"] = "1" });
        try
        {
            var exitCode = await app.RunAsync(["crawl", file, "--url", "http://127.0.0.1/a", "--url", "http://127.0.0.1/b",
                "--connection-string", await SharedAzurite.ConnectionStringAsync()], CancellationToken.None);

            Assert.Equal(ExitCodes.InvalidInput, exitCode);
            Assert.Contains("either urls or urlListBlob", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_NoUrls_ExitsTwoWithMessage()
    {
        var run = await RunAsync(NewContainer(), "crawl");

        Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
        Assert.Contains("No URLs", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crawl_InvalidJob_ExitsTwoListingEveryProblemAndStoresNothing()
    {
        var container = NewContainer();

        var run = await RunAsync(container, "crawl", "--job-id", "bad-job", "--url", "ftp://127.0.0.1/file", "--url", "http://user:pw@127.0.0.1/", "--retries", "99");

        Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
        Assert.Contains("urls[0]", run.Error, StringComparison.Ordinal);
        Assert.Contains("urls[1]", run.Error, StringComparison.Ordinal);
        Assert.Contains("maxRetries", run.Error, StringComparison.OrdinalIgnoreCase);
        var blobs = new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container);
        Assert.False((await blobs.GetBlobClient("bad-job/job.json").ExistsAsync()).Value);
    }

    [Fact]
    public async Task Crawl_MalformedJobFile_ExitsTwoNamingTheFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"job-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{ \"urls\": [ \"http://127.0.0.1/\" ");
        try
        {
            var run = await RunAsync(NewContainer(), "crawl", file);

            Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
            Assert.Contains(Path.GetFileName(file), run.Error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_UnknownOption_ExitsTwo()
    {
        var run = await RunAsync(NewContainer(), "crawl", "--no-such-option");

        Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
        // Reported as an option, not taken as the name of a job file that does not exist.
        Assert.Contains("Unrecognized option '--no-such-option'", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("job file", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crawl_StorageUnreachable_ExitsThree()
    {
        var (app, _, error) = await CreateSutAsync(NewContainer());
        // A loopback port nothing listens on: storage refuses every connection.
        var unreachable = Cli.LocalStorage.AzuriteProcess.ConnectionStringFor(1, 1, 1);

        var exitCode = await app.RunAsync(["crawl", "--url", "http://127.0.0.1/", "--connection-string", unreachable], CancellationToken.None);

        Assert.Equal(ExitCodes.InfrastructureFailure, exitCode);
        Assert.Contains("infrastructure failure", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_UnknownJob_ExitsFour()
    {
        var run = await RunAsync(NewContainer(), "status", "never-ran");

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
    }

    [Fact]
    public async Task Status_AfterCrawl_PrintsStoredSummary()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();
        var crawl = await RunAsync(container, "crawl", "--job-id", "for-status", "--allow-network", "127.0.0.1/32", "--url", server.Url("/bytes/100").AbsoluteUri);
        Assert.Equal(ExitCodes.Success, crawl.ExitCode);

        var run = await RunAsync(container, "status", "for-status");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("for-status", run.Output, StringComparison.Ordinal);
        Assert.Contains("Succeeded", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enqueue_ValidJob_PutsTheIntakeMessageOnTheQueue()
    {
        var container = NewContainer();
        var (app, output, error) = await CreateSutAsync(container);
        var connection = await SharedAzurite.ConnectionStringAsync();

        var exitCode = await app.RunAsync(["enqueue", "--job-id", "queued-1", "--url", "http://127.0.0.1/queued", "--connection-string", connection], CancellationToken.None);

        Assert.True(exitCode == ExitCodes.Success, error.ToString());
        var queue = new QueueServiceClient(connection).GetQueueClient("crawl-intake");
        var messages = (await queue.ReceiveMessagesAsync(32)).Value;
        var tickets = messages.Select(m => JobTicket.TryParse(Encoding.UTF8.GetString(Convert.FromBase64String(m.MessageText)))).ToList();
        Assert.Contains(tickets, t => t is { JobId: "queued-1" });
        Assert.Contains("queued-1", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_SmallJob_RunsEndToEndOnLoopback()
    {
        var run = await RunAsync(NewContainer(), "demo", "--urls", "100");

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
        Assert.Contains("HTTP 404", run.Output, StringComparison.Ordinal);
        Assert.Contains("error: TooLarge", run.Output, StringComparison.Ordinal);
    }
}
