using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Cli.Tests.Infrastructure;
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

        return (new CliApp(TestConsoles.Create(output), TestConsoles.Create(error), environment), output, error);
    }

    /// <summary>For tests of a URL that times out under a 1 s attempt timeout: robots.txt is fetched under the job's
    /// timeouts too, and on a loaded machine its first fetch can take longer, which disallows the whole host
    /// (DisallowedByRobots) before the URL under test is ever requested. Robots handling has tests of its own.</summary>
    private static readonly Dictionary<string, string?> NoRobots = new() { ["Crawl__RespectRobotsTxt"] = "false" };

    private static Task<Run> RunAsync(string container, params string[] args) => RunAsync(container, null, args);

    private static async Task<Run> RunAsync(string container, IDictionary<string, string?>? settings, params string[] args)
    {
        var (app, output, error) = await CreateSutAsync(container, settings);
        var connection = await SharedAzurite.ConnectionStringAsync();
        var withStorage = args.Length > 0 && args[0] is "crawl" or "enqueue" or "status" or "demo" or "get"
            ? [.. args, "--connection-string", connection]
            : args;
        var exitCode = await app.RunAsync(withStorage, CancellationToken.None);
        return new Run(exitCode, output.ToString(), error.ToString());
    }

    private static string NewContainer() => $"c{Guid.NewGuid():N}";

    private static async Task<BlobContainerClient> BlobsAsync(string container) =>
        new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container);

    private static async Task<List<string>> BlobNamesAsync(string container)
    {
        var names = new List<string>();
        var blobs = await BlobsAsync(container);
        if (!(await blobs.ExistsAsync()).Value)
        {
            return names;
        }

        await foreach (var blob in blobs.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }

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
        // A 404 is one outcome, its status: not a second "error: HttpStatus" row.
        Assert.DoesNotContain("error: HttpStatus", run.Output, StringComparison.Ordinal);
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
    public async Task Crawl_UrlsFileAboveInlineLimit_BecomesTheJobsUrlListAndLeavesNothingElse()
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
            var names = await BlobNamesAsync(container);
            // No upload blob beside the job: the file became the job's own urls.txt.
            Assert.All(names, name => Assert.StartsWith("listed/", name, StringComparison.Ordinal));
            var stored = (await (await BlobsAsync(container)).GetBlobClient("listed/urls.txt").DownloadContentAsync()).Value.Content.ToString();
            Assert.Equal(12, stored.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_InvalidUrlsFile_ExitsTwoAndStoresNothing()
    {
        var container = NewContainer();
        var file = Path.Combine(Path.GetTempPath(), $"urls-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(file, ["http://127.0.0.1/ok", "ftp://127.0.0.1/bad"]);
        try
        {
            var run = await RunAsync(container, "crawl", "--job-id", "rejected-list", "--urls-file", file);

            Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
            Assert.Contains("urlsFile:2", run.Error, StringComparison.Ordinal);
            Assert.Empty(await BlobNamesAsync(container));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_EndlessUrlsFile_ExitsTwoWithAMessage()
    {
        var container = NewContainer();

        // /dev/zero has no line end: reading stops at a bounded line length instead of running out of memory.
        var run = await RunAsync(container, "crawl", "--urls-file", "/dev/zero");

        Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
        Assert.Contains("urlsFile:1", run.Error, StringComparison.Ordinal);
        Assert.Contains("reading stopped", run.Error, StringComparison.Ordinal);
        Assert.Empty(await BlobNamesAsync(container));
    }

    [Fact]
    public async Task Crawl_UnreadableUrlsFile_ExitsTwoNamingIt()
    {
        var directory = Directory.CreateTempSubdirectory("not-a-file-");
        try
        {
            var run = await RunAsync(NewContainer(), "crawl", "--urls-file", directory.FullName);

            Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
            Assert.Contains($"Cannot read the URL list {directory.FullName}", run.Error, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete();
        }
    }

    [Fact]
    public async Task Crawl_MalformedConnectionString_ExitsTwoWithAMessage()
    {
        var (app, _, error) = await CreateSutAsync(NewContainer());

        var exitCode = await app.RunAsync(["crawl", "--url", "http://127.0.0.1/", "--connection-string", "this is no connection string"], CancellationToken.None);

        Assert.Equal(ExitCodes.InvalidInput, exitCode);
        Assert.Contains("connection string is malformed", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Crawl__MaxConcurrency", "sixteen")]
    [InlineData("Crawl__MaxConcurrency", "99999999999")]
    [InlineData("Fetch__FetchDeadline", "two minutes")]
    public async Task Crawl_SettingThatDoesNotBind_ExitsTwoNamingIt(string variable, string value)
    {
        var (app, _, error) = await CreateSutAsync(NewContainer(), new Dictionary<string, string?> { [variable] = value });

        var exitCode = await app.RunAsync(["crawl", "--url", "http://127.0.0.1/", "--connection-string", await SharedAzurite.ConnectionStringAsync()], CancellationToken.None);

        Assert.True(exitCode == ExitCodes.InvalidInput, error.ToString());
        Assert.Contains(variable.Replace("__", ":", StringComparison.Ordinal), error.ToString(), StringComparison.Ordinal);
        Assert.True(error.ToString().Contains(variable, StringComparison.Ordinal), error.ToString());
    }

    [Theory]
    [InlineData("other-job/job.json")]
    [InlineData("_uploads/../other-job/job.json")]
    [InlineData("_uploads\\..\\other-job\\job.json")]
    public async Task Crawl_UrlListBlobOutsideTheUploadPrefix_ExitsTwoWithoutReadingIt(string blobName)
    {
        var container = NewContainer();
        var blobs = await BlobsAsync(container);
        await blobs.CreateIfNotExistsAsync();
        await blobs.UploadBlobAsync("other-job/job.json", BinaryData.FromString("{\"settings\": \"Authorization: Bearer other-jobs-secret\"}"));
        var file = Path.Combine(Path.GetTempPath(), $"job-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, System.Text.Json.JsonSerializer.Serialize(new { urlListBlob = blobName }));
        try
        {
            var run = await RunAsync(container, "crawl", file);

            Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
            Assert.Contains("urlListBlob", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("other-jobs-secret", run.Error + run.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_UrlListBlobUnderTheUploadPrefix_RunsIt()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();
        var blobs = await BlobsAsync(container);
        await blobs.CreateIfNotExistsAsync();
        await blobs.UploadBlobAsync("_uploads/mine.txt", BinaryData.FromString(server.Url("/bytes/10").AbsoluteUri + "\n"));
        var file = Path.Combine(Path.GetTempPath(), $"job-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{ \"jobId\": \"from-upload\", \"urlListBlob\": \"_uploads/mine.txt\" }");
        try
        {
            var run = await RunAsync(container, "crawl", file, "--allow-network", "127.0.0.1/32");

            Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
            Assert.Contains("HTTP 200", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Crawl_MixedOutcomes_OutcomeRowsSumToTheUrlCountAndBytesCountTruncatedBodies()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();

        // A stored 200, a 404, a streamed body cut at the cap (a 200 that is TooLarge) and a Content-Length over the cap.
        // The blobs store: the WARC store would keep both capped bodies as truncated records (read up to the cap).
        var run = await RunAsync(container, "crawl", "--job-id", "outcomes", "--allow-network", "127.0.0.1/32", "--max-bytes", "1000", "--store", "blobs",
            "--url", server.Url("/bytes/500").AbsoluteUri, "--url", server.Url("/status/404").AbsoluteUri,
            "--url", server.Url("/chunked/5000").AbsoluteUri, "--url", server.Url("/bytes/5000").AbsoluteUri);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
        var rows = System.Text.RegularExpressions.Regex.Matches(run.Output, @"(HTTP \d{3}|error: \w+)\s*\S\s*(\d+)\s")
            .ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(new Dictionary<string, int> { ["HTTP 200"] = 1, ["HTTP 404"] = 1, ["error: TooLarge"] = 2 }, rows);
        Assert.Equal(4, rows.Values.Sum());
        var summary = (await (await BlobsAsync(container)).GetBlobClient("outcomes/summary.json").DownloadContentAsync()).Value.Content.ToObjectFromJson<System.Text.Json.Nodes.JsonObject>()!;
        // 500 stored + 1,001 read of the streamed body (one byte past the cap proves it too large) + none of the refused one.
        Assert.Equal(1501, (long)summary["bytes"]!);
        Assert.Equal(500, (long)summary["storedBytes"]!);
        Assert.Equal(4, summary["outcomes"]!.AsObject().Sum(o => (long)o.Value!));
    }

    [Fact]
    public async Task Crawl_JobFetchDeadlineBelowASlowBody_StopsItAsATimeout()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();

        // 30 chunks 200 ms apart: about 6 s of body, well inside the operator's 120 s deadline but not the job's 1 s.
        var run = await RunAsync(container, "crawl", "--job-id", "deadline", "--allow-network", "127.0.0.1/32", "--fetch-deadline", "1",
            "--url", server.Url("/slow/30/200").AbsoluteUri);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
        Assert.Contains("error: Timeout", run.Output, StringComparison.Ordinal);
        Assert.Contains("deadline of 1 s", run.Output, StringComparison.Ordinal);
        var job = (await (await BlobsAsync(container)).GetBlobClient("deadline/job.json").DownloadContentAsync()).Value.Content.ToString();
        Assert.Contains("\"fetchDeadline\":\"00:00:01\"", job, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crawl_TimingOutUrl_LogsOnlyWarningsOnStderrNamingTheHostNotTheUrl()
    {
        var server = await LoopbackServer.Shared;
        var key = Guid.NewGuid().ToString("N");
        var url = server.Url($"/hang/{key}?token=query-secret");

        var run = await RunAsync(NewContainer(), NoRobots, "crawl", "--allow-network", "127.0.0.1/32", "--retries", "0", "--attempt-timeout", "1",
            "--total-timeout", "2", "--url", url.AbsoluteUri);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
        // The whole output on failure: this failed once at load average 35 and the assertion showed only its start.
        Assert.True(run.Output.Contains("error: Timeout", StringComparison.Ordinal), run.Output + run.Error);
        var logLines = run.Error.Split('\n').Where(line => line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal)
            || line.StartsWith("info:", StringComparison.Ordinal) || line.StartsWith("dbug:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(logLines);
        Assert.All(logLines, line => Assert.False(line.StartsWith("info:", StringComparison.Ordinal) || line.StartsWith("dbug:", StringComparison.Ordinal), line));
        Assert.True(logLines.Any(line => line.Contains("OnTimeout", StringComparison.Ordinal) && line.Contains(url.Authority, StringComparison.Ordinal)), string.Join("\n", logLines));
        Assert.DoesNotContain("query-secret", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(key, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("OnTimeout", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crawl_CredentialHeaders_AreSentButNeverPrintedLoggedOrWrittenToResultsOrSummary()
    {
        var server = await LoopbackServer.Shared;
        var container = NewContainer();
        var key = Guid.NewGuid().ToString("N");
        string[] secrets = ["sekrit-authorization", "sekrit-cookie", "sekrit-token", "sekrit-api-key"];

        // An echo of the request headers (proof they were sent), a 404, a server error retried and a timeout, so that
        // warnings are logged and failures are listed.
        var run = await RunAsync(container, NoRobots, "crawl", "--job-id", "secret-headers", "--allow-network", "127.0.0.1/32", "--retries", "1",
            "--attempt-timeout", "1", "--total-timeout", "2",
            "--header", $"Authorization: Bearer {secrets[0]}", "--header", $"Cookie: session={secrets[1]}",
            "--header", $"X-Session-Token: {secrets[2]}", "--header", $"X-Api-Key: {secrets[3]}",
            "--url", server.Url("/headers").AbsoluteUri, "--url", server.Url("/status/404").AbsoluteUri,
            "--url", server.Url($"/flaky/{key}/5/500").AbsoluteUri, "--url", server.Url($"/hang/{key}-h").AbsoluteUri);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
        var blobs = await BlobsAsync(container);
        // The WARC store (the default): the echoed body holds them (they were sent), the request records only redacted.
        var warc = (await blobs.GetBlobClient(Assert.Single(await BlobNamesAsync(container), n => n.Contains("/warc/", StringComparison.Ordinal)))
            .DownloadContentAsync()).Value.Content.ToArray();
        using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(warc), System.IO.Compression.CompressionMode.Decompress);
        var records = new StreamReader(gzip, Encoding.UTF8).ReadToEnd().Split("WARC/1.1\r\n");
        var echoed = Assert.Single(records, r => r.Contains("WARC-Type: response", StringComparison.Ordinal) && r.Contains("/headers", StringComparison.Ordinal));
        Assert.Contains(secrets[0], echoed, StringComparison.Ordinal);
        var requests = records.Where(r => r.Contains("WARC-Type: request", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(requests);
        Assert.All(requests, request => Assert.Contains("Authorization: (redacted)", request, StringComparison.Ordinal));
        Assert.All(requests, request => Assert.All(secrets, secret => Assert.DoesNotContain(secret, request, StringComparison.Ordinal)));
        var shown = new StringBuilder(run.Output).Append(run.Error);
        foreach (var name in (await BlobNamesAsync(container)).Where(n => n.Contains("/results/", StringComparison.Ordinal) || n.EndsWith("summary.json", StringComparison.Ordinal)))
        {
            shown.Append((await blobs.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString());
        }

        Assert.Contains("Timeout", shown.ToString(), StringComparison.Ordinal);
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, shown.ToString(), StringComparison.Ordinal));
        // job.json keeps them: the batches send them (the README says who can read it).
        var job = (await blobs.GetBlobClient("secret-headers/job.json").DownloadContentAsync()).Value.Content.ToString();
        Assert.All(secrets, secret => Assert.Contains(secret, job, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Crawl_MalformedCredentialHeader_ExitsTwoWithoutShowingIt()
    {
        var missingColon = await RunAsync(NewContainer(), "crawl", "--url", "http://127.0.0.1/", "--header", "Authorization Bearer sekrit-1");
        var badValue = await RunAsync(NewContainer(), "crawl", "--url", "http://127.0.0.1/", "--header", "Authorization: Bearer sekrit-2\u0001");

        Assert.Equal((ExitCodes.InvalidInput, ExitCodes.InvalidInput), (missingColon.ExitCode, badValue.ExitCode));
        Assert.Contains("--header number 1", missingColon.Error, StringComparison.Ordinal);
        Assert.Contains("options.headers['Authorization']", badValue.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("sekrit", missingColon.Error + missingColon.Output + badValue.Error + badValue.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_JobOptions_ShowTheOperatorsDefaultsAndTheirSettings()
    {
        var (app, output, _) = await CreateSutAsync(NewContainer(), new Dictionary<string, string?> { ["Crawl__MaxConcurrency"] = "12" });

        var exitCode = await app.RunAsync(["crawl", "--help"], CancellationToken.None);

        Assert.Equal(ExitCodes.Success, exitCode);
        var help = output.ToString();
        Assert.Contains("default: 12 (Crawl:MaxConcurrency)", help, StringComparison.Ordinal);
        Assert.Contains("default: 3 (Fetch:MaxRetries)", help, StringComparison.Ordinal);
        Assert.Contains("default: 10 (Fetch:AttemptTimeout)", help, StringComparison.Ordinal);
        Assert.Contains("default: 60 (Fetch:TotalTimeout)", help, StringComparison.Ordinal);
        Assert.Contains("default: 120 (Fetch:FetchDeadline)", help, StringComparison.Ordinal);
        Assert.Contains("--fetch-deadline", help, StringComparison.Ordinal);
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
        var container = NewContainer();
        var run = await RunAsync(container, "demo", "--urls", "100");

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error + run.Output);
        Assert.Contains("HTTP 404", run.Output, StringComparison.Ordinal);
        Assert.Contains("error: TooLarge", run.Output, StringComparison.Ordinal);
        // Then the crawl with link discovery: the seed and the sitemap's 5 pages, 20 sections and the disallowed page, 300
        // pages (planned and fetched per depth), with the page robots.txt disallows among the failed URLs.
        Assert.Matches(@"│\s+0\s+│\s+6\s+│\s+6\s+│", run.Output);
        Assert.Matches(@"│\s+1\s+│\s+21\s+│\s+21\s+│", run.Output);
        Assert.Matches(@"│\s+2\s+│\s+300\s+│\s+300\s+│", run.Output);
        Assert.Matches(@"│ Sitemap URLs added\s+│\s+5 │", run.Output);
        Assert.Contains("error: DisallowedByRobots", run.Output, StringComparison.Ordinal);

        // The demo ends by naming what to do next; its get command reads a page back from the job's WARC files, and the
        // crawl's status prints its stored summary with the discovery table.
        var next = run.Output.Split('\n').Single(line => line.StartsWith("Next: ", StringComparison.Ordinal));
        var get = next.Split(" · ")[1].Split(' ');
        var crawlStatus = next.Split(" · ")[3].Trim().Split(' ');
        var status = await RunAsync(container, crawlStatus[1], crawlStatus[2]);
        Assert.True(status.ExitCode == ExitCodes.Success, status.Error + status.Output);
        Assert.Matches(@"│\s+2\s+│\s+300\s+│\s+300\s+│", status.Output);
        var file = Path.Combine(Path.GetTempPath(), $"demo-{Guid.NewGuid():N}.html");
        try
        {
            var page = await RunAsync(container, get[1], get[2], get[3], "--output", file);

            Assert.True(page.ExitCode == ExitCodes.Success, page.Error + page.Output);
            Assert.StartsWith("<!doctype html><title>Page ", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
            Assert.NotEmpty(await BlobNamesWithPrefixAsync(container, $"{get[2]}/warc/"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<List<string>> BlobNamesWithPrefixAsync(string container, string prefix) =>
        (await BlobNamesAsync(container)).Where(name => name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
}
