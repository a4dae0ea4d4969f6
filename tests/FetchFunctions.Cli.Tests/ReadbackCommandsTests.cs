using System.IO.Compression;
using Azure.Storage.Blobs;
using FetchFunctions.Cli.Tests.Infrastructure;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Cli.Tests;

/// <summary><c>get</c> and <c>export</c>: a job's stored pages read back, from a crawl (the blobs store) and from WARC files.</summary>
public sealed class ReadbackCommandsTests
{
    private sealed record Run(int ExitCode, string Output, string Error, byte[] Stdout);

    private static async Task<Run> RunAsync(string container, params string[] args)
    {
        var connection = await SharedAzurite.ConnectionStringAsync();
        var output = new StringWriter();
        var error = new StringWriter();
        var stdout = new MemoryStream();
        var environment = new Dictionary<string, string?> { ["Storage__ContainerName"] = container, ["Fetch__RetryBaseDelay"] = "00:00:00.010" };
        var app = new CliApp(TestConsoles.Create(output), TestConsoles.Create(error), environment, () => stdout);
        var exitCode = await app.RunAsync([.. args, "--connection-string", connection], CancellationToken.None);
        return new Run(exitCode, output.ToString(), error.ToString(), stdout.ToArray());
    }

    private static async Task<string> WarcJobAsync(string jobId)
    {
        var container = $"c{Guid.NewGuid():N}";
        var blobs = new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container);
        await blobs.CreateAsync();
        var job = new TestWarc.Job(jobId);
        job.AddPage(0, "https://example.org/", 200, "<h1>home</h1>"u8.ToArray(), urlKey: Surt.Of);
        using var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write("squeezed text"u8);
        }

        job.AddPage(1, "https://example.org/z", 200, gz.ToArray(), "text/plain", [("Content-Encoding", "gzip")], Surt.Of);
        await job.UploadAsync(blobs);
        return container;
    }

    [Fact]
    public async Task Get_PageOfACrawl_WritesItsBodyToStdoutAndToAFile()
    {
        var server = await LoopbackServer.Shared;
        var container = $"c{Guid.NewGuid():N}";
        var url = server.Url("/bytes/300000?seed=9").AbsoluteUri;
        var crawl = await RunAsync(container, "crawl", "--job-id", "got", "--allow-network", "127.0.0.1/32", "--url", url, "--url", server.Url("/status/404").AbsoluteUri);
        Assert.True(crawl.ExitCode == ExitCodes.Success, crawl.Error + crawl.Output);
        var file = Path.Combine(Path.GetTempPath(), $"get-{Guid.NewGuid():N}.bin");

        var toStdout = await RunAsync(container, "get", "got", url);
        var toFile = await RunAsync(container, "get", "got", url, "--output", file);
        var missing = await RunAsync(container, "get", "got", server.Url("/status/404").AbsoluteUri);

        Assert.True(toStdout.ExitCode == ExitCodes.Success, toStdout.Error);
        Assert.Equal(TestContent.Bytes(9, 300000), toStdout.Stdout);
        Assert.Equal(ExitCodes.Success, toFile.ExitCode);
        Assert.Equal(TestContent.Bytes(9, 300000), await File.ReadAllBytesAsync(file));
        Assert.Contains("Wrote 300000 bytes", toFile.Output, StringComparison.Ordinal);
        Assert.Empty(toFile.Stdout);
        Assert.False(File.Exists(file + ".partial"));
        Assert.Equal(ExitCodes.NotFound, missing.ExitCode);
        // The default store is WARC: an unstored status has no record, so the index has no line for it.
        Assert.Contains("holds no stored body", missing.Error, StringComparison.Ordinal);
        File.Delete(file);
    }

    [Fact]
    public async Task Get_WarcPage_WritesThePayloadAndDecodesOnlyWhenAsked()
    {
        var container = await WarcJobAsync("wj");

        var home = await RunAsync(container, "get", "wj", "HTTPS://Example.org/#top");
        var raw = await RunAsync(container, "get", "wj", "https://example.org/z");
        var decoded = await RunAsync(container, "get", "wj", "https://example.org/z", "--decode");

        Assert.True(home.ExitCode == ExitCodes.Success, home.Error);
        Assert.Equal("<h1>home</h1>"u8.ToArray(), home.Stdout);
        Assert.Equal([0x1f, 0x8b], raw.Stdout[..2]);
        Assert.Equal("squeezed text"u8.ToArray(), decoded.Stdout);
    }

    [Theory]
    [InlineData("wj", "https://example.org/nothing", ExitCodes.NotFound, "not in the job's index")]
    [InlineData("no-such-job", "https://example.org/", ExitCodes.NotFound, "not in the job's results")]
    [InlineData("../wj", "https://example.org/", ExitCodes.InvalidInput, "job id")]
    [InlineData("wj", "mailto:someone@example.org", ExitCodes.InvalidInput, "scheme")]
    public async Task Get_NoStoredBodyOrBadInput_ExitsWithItsCodeAndSaysWhy(string jobId, string url, int exitCode, string message)
    {
        var container = await WarcJobAsync("wj");

        var run = await RunAsync(container, "get", jobId, url);

        Assert.Equal(exitCode, run.ExitCode);
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task Export_WarcJob_WritesAWaczWithItsFiles()
    {
        var container = await WarcJobAsync("wx");
        var file = Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.wacz");

        var run = await RunAsync(container, "export", "wx", "--wacz", file);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        Assert.Contains("2 WARC file(s), 2 page(s)", run.Output, StringComparison.Ordinal);
        using (var zip = ZipFile.OpenRead(file))
        {
            Assert.Equal(
                ["archive/" + TestWarc.Job.FileName(0), "archive/" + TestWarc.Job.FileName(1), "indexes/index.cdxj", "pages/pages.jsonl", "datapackage.json"],
                zip.Entries.Select(e => e.FullName));
        }

        File.Delete(file);
    }

    [Fact]
    public async Task Export_BlobsStoreJobOrUnknownJob_ExitsWithoutWritingAFile()
    {
        var server = await LoopbackServer.Shared;
        var container = $"c{Guid.NewGuid():N}";
        var crawl = await RunAsync(container, "crawl", "--job-id", "blobby", "--store", "blobs", "--allow-network", "127.0.0.1/32", "--url", server.Url("/bytes/10").AbsoluteUri);
        Assert.Equal(ExitCodes.Success, crawl.ExitCode);
        var file = Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.wacz");

        var blobs = await RunAsync(container, "export", "blobby", "--wacz", file);
        var unknown = await RunAsync(container, "export", "nobody", "--wacz", file);
        var noFile = await RunAsync(container, "export", "blobby");

        Assert.Equal(ExitCodes.InvalidInput, blobs.ExitCode);
        Assert.Contains("blobs store", blobs.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.NotFound, unknown.ExitCode);
        Assert.Equal(ExitCodes.InvalidInput, noFile.ExitCode);
        Assert.False(File.Exists(file));
        Assert.False(File.Exists(file + ".partial"));
    }

    [Fact]
    public async Task Help_GetAndExport_DescribeTheirOptions()
    {
        var get = await RunAsync("unused", "get", "--help");
        var export = await RunAsync("unused", "export", "--help");

        Assert.Contains("--decode", get.Output, StringComparison.Ordinal);
        Assert.Contains("--output", get.Output, StringComparison.Ordinal);
        Assert.Contains("--wacz", export.Output, StringComparison.Ordinal);
        Assert.Contains("ReplayWeb.page", export.Output, StringComparison.Ordinal);
    }
}
