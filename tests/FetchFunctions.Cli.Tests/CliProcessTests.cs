using System.Text.Json;
using Azure.Storage.Blobs;
using FetchFunctions.Cli.LocalStorage;
using FetchFunctions.Cli.Tests.Infrastructure;
using FetchFunctions.Core.Tests.Infrastructure;

namespace FetchFunctions.Cli.Tests;

/// <summary>The CLI as a user runs it: a child process with the Azurite it starts itself, data in a folder, read back
/// afterwards by another process (a fresh Azurite on the same folder).</summary>
public sealed class CliProcessTests
{
    private static string NewDataFolder() => Path.Combine(Path.GetTempPath(), $"fetchfn-data-{Guid.NewGuid():N}");

    private static async Task<AzuriteProcess> OpenDataFolderAsync(string folder) =>
        await AzuriteProcess.StartAsync(folder, 0, 0, 0, TimeSpan.FromMinutes(2), CancellationToken.None);

    /// <summary>Whether an Azurite still runs with this data folder.</summary>
    private static bool AnyProcessUses(string folder) => AzuritesUsing(folder).Count > 0;

    /// <summary>The ids of the Azurite processes (node running azurite.js; not the CLI, whose command line names the
    /// folder too) with this data folder on their command line.</summary>
    private static List<int> AzuritesUsing(string folder) => [.. Directory.EnumerateDirectories("/proc")
        .Where(directory => Path.GetFileName(directory).All(char.IsAsciiDigit) && IsAzuriteUsing(directory, folder))
        .Select(directory => int.Parse(Path.GetFileName(directory), System.Globalization.CultureInfo.InvariantCulture))];

    private static bool IsAzuriteUsing(string directory, string folder)
    {
        try
        {
            var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
            return arguments.Contains(folder, StringComparer.Ordinal) && arguments.Any(a => a.EndsWith("azurite.js", StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>SIGINT, as a terminal's Ctrl+C sends it to every process of the foreground group.</summary>
    private static async Task InterruptAsync(int processId)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-INT", processId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    private static async Task<List<string>> LinesAsync(BlobContainerClient container, string blobName)
    {
        var text = (await container.GetBlobClient(blobName).DownloadContentAsync()).Value.Content.ToString();
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    [Fact]
    public async Task Crawl_OnItsOwnAzurite_LeavesEveryResultAndTheSummaryForTheNextProcess()
    {
        var server = await LoopbackServer.Shared;
        var run = Guid.NewGuid().ToString("N");
        var data = NewDataFolder();
        var urls = Enumerable.Range(0, 30).Select(i => server.Url($"/crawl/{run}/ok/{i}/2000").AbsoluteUri).ToList();
        try
        {
            using (var cli = CliProcess.Start(["crawl", "--job-id", "kept", "--allow-network", "127.0.0.1/32", "--batch-size", "5",
                "--azurite-data", data, .. urls.SelectMany(url => new[] { "--url", url })]))
            {
                Assert.True(await cli.WaitAsync() == ExitCodes.Success, cli.Error + cli.Output);
            }

            await using var azurite = await OpenDataFolderAsync(data);
            var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("crawls");
            var results = new List<JsonElement>();
            for (var batch = 0; batch < 6; batch++)
            {
                results.AddRange((await LinesAsync(container, $"kept/results/{batch:D6}.ndjson")).Select(line => JsonDocument.Parse(line).RootElement));
            }

            Assert.Equal(urls.Order(), results.Select(r => r.GetProperty("url").GetString()!).Order());
            foreach (var result in results)
            {
                Assert.Equal(200, result.GetProperty("status").GetInt32());
                Assert.True((await container.GetBlobClient("kept/warc/" + result.GetProperty("warcFile").GetString()).ExistsAsync()).Value);
            }

            var summary = JsonDocument.Parse((await container.GetBlobClient("kept/summary.json").DownloadContentAsync()).Value.Content.ToString()).RootElement;
            Assert.Equal(30, summary.GetProperty("total").GetInt64());
            Assert.Equal(30, summary.GetProperty("succeeded").GetInt64());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Crawl_Killed_ItsAzuriteStillStopsGracefullyAndKeepsWhatWasWritten()
    {
        var server = await LoopbackServer.Shared;
        var key = Guid.NewGuid().ToString("N");
        var data = NewDataFolder();
        try
        {
            using (var cli = CliProcess.Start(["crawl", "--job-id", "killed", "--allow-network", "127.0.0.1/32", "--azurite-data", data,
                "--url", server.Url($"/hang/{key}").AbsoluteUri]))
            {
                // The fetch has started, so job.json has been written: then the CLI dies without a chance to clean up.
                await Poll.UntilAsync(() => server.Attempts(key) > 0, "the CLI to start fetching", TimeSpan.FromMinutes(2));
                Assert.True(AnyProcessUses(data), "the CLI's Azurite runs");
                cli.Kill();
            }

            await Poll.UntilAsync(() => !AnyProcessUses(data), "the killed CLI's Azurite to exit", TimeSpan.FromSeconds(60));
            await using var azurite = await OpenDataFolderAsync(data);
            var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("crawls");
            var job = JsonDocument.Parse((await container.GetBlobClient("killed/job.json").DownloadContentAsync()).Value.Content.ToString()).RootElement;
            Assert.Equal("killed", job.GetProperty("jobId").GetString());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Crawl_KilledPartWayAndRunAgainWithItsJobId_FetchesOnlyTheBatchesThatWereInFlight()
    {
        var server = await LoopbackServer.Shared;
        var run = $"kill{Guid.NewGuid():N}"[..16];
        var container = $"c{Guid.NewGuid():N}";
        const int Urls = 200, BatchSize = 10, BatchesInFlight = 2;
        var urls = Enumerable.Range(0, Urls).Select(i => server.Url($"/crawl/{run}/ok/{i}/500").AbsoluteUri).ToList();

        // The test's shared Azurite, so the kill loses nothing that was stored; a pause per host makes the run last.
        string[] args = ["crawl", "--job-id", run, "--batch-size", $"{BatchSize}", "--batches-in-flight", $"{BatchesInFlight}", "--per-host", "1",
            "--per-host-delay-ms", "20", "--allow-network", "127.0.0.1/32", "--connection-string", await SharedAzurite.ConnectionStringAsync(),
            .. urls.SelectMany(url => new[] { "--url", url })];
        var environment = new Dictionary<string, string?> { ["Storage__ContainerName"] = container };
        using (var first = CliProcess.Start(args, environment))
        {
            await Poll.UntilAsync(() => server.Counter($"{run}:ok:requests") >= 60, "60 requests of the first run", TimeSpan.FromMinutes(2));
            first.Kill();
        }

        var blobs = new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container);
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var blob in blobs.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = $"{run}/results/" }))
        {
            stored.UnionWith((await LinesAsync(blobs, blob.Name)).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("url").GetString()!));
        }

        Assert.InRange(stored.Count, 1, Urls - 1);
        var before = Enumerable.Range(0, Urls).Select(i => server.Attempts($"{run}:ok:{i}")).ToArray();

        using (var second = CliProcess.Start(args, environment))
        {
            Assert.True(await second.WaitAsync() == ExitCodes.Success, second.Error + second.Output);
        }

        var again = 0;
        for (var i = 0; i < Urls; i++)
        {
            var requests = server.Attempts($"{run}:ok:{i}");
            if (stored.Contains(urls[i]))
            {
                Assert.Equal(1, requests);
            }
            else
            {
                Assert.Equal(before[i] + 1, requests);
                again += before[i];
            }
        }

        // Fetched twice: only URLs of the batches in flight at the kill.
        Assert.InRange(again, 0, BatchesInFlight * BatchSize);
        var summary = JsonDocument.Parse((await blobs.GetBlobClient($"{run}/summary.json").DownloadContentAsync()).Value.Content.ToString()).RootElement;
        Assert.Equal(Urls, summary.GetProperty("succeeded").GetInt64());
    }

    [Fact]
    public async Task Crawl_CtrlCReachesTheCliAndItsAzurite_CancelsAgainstARunningAzuriteThenStopsIt()
    {
        // A child inherits an ignored SIGINT: the CLI would then never see Ctrl+C and would finish its job with exit 0.
        Assert.False(SigIntIgnored(), "This test process ignores SIGINT (inherited, e.g. from `nohup … &`), so its CLI child would too: "
            + "run the tests in the foreground or as `( … ) &`.");
        var server = await LoopbackServer.Shared;
        var key = Guid.NewGuid().ToString("N");
        var data = NewDataFolder();
        try
        {
            using var cli = CliProcess.Start(["crawl", "--job-id", "interrupted", "--allow-network", "127.0.0.1/32", "--azurite-data", data,
                "--url", server.Url($"/hang/{key}").AbsoluteUri]);
            await Poll.UntilAsync(() => server.Attempts(key) > 0, "the CLI to start fetching", TimeSpan.FromMinutes(2));
            var azurite = AzuritesUsing(data);
            Assert.NotEmpty(azurite);

            // Ctrl+C reaches the whole process group: Azurite as well as the CLI.
            foreach (var id in azurite)
            {
                await InterruptAsync(id);
            }

            await InterruptAsync(cli.Id);

            Assert.Equal(ExitCodes.Cancelled, await cli.WaitAsync());
            // The CLI released its run lease (Azurite was still there to answer) before it stopped Azurite.
            Assert.DoesNotContain("could not be released", cli.Output + cli.Error, StringComparison.Ordinal);
            Assert.False(AnyProcessUses(data), "the CLI's Azurite has exited");
            await using var reopened = await OpenDataFolderAsync(data);
            var container = new BlobServiceClient(reopened.ConnectionString).GetBlobContainerClient("crawls");
            Assert.True((await container.GetBlobClient("interrupted/job.json").ExistsAsync()).Value);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Whether this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status); false where there is no /proc.</summary>
    private static bool SigIntIgnored()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return false;
        }

        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null
            && ulong.TryParse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var mask)
            && (mask & 0x2) != 0;
    }
}
