using FetchFunctions.Cli.Tests.Infrastructure;
using FetchFunctions.Core.Tests.Infrastructure;

namespace FetchFunctions.Cli.Tests;

/// <summary><c>crawl</c> with an OTLP endpoint sends the job's traces and metrics to an OTLP/HTTP receiver on 127.0.0.1.</summary>
public sealed class CliTelemetryTests
{
    private const string Secret = "cli-s3cr3t";

    private static async Task<(CliApp App, StringWriter Output, StringWriter Error)> CreateSutAsync(IDictionary<string, string?>? settings = null)
    {
        _ = await SharedAzurite.GetAsync();
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new Dictionary<string, string?> { ["Storage__ContainerName"] = $"c{Guid.NewGuid():N}", ["Fetch__RetryBaseDelay"] = "00:00:00.010" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return (new CliApp(TestConsoles.Create(output), TestConsoles.Create(error), environment), output, error);
    }

    private static async Task<string[]> CrawlArgsAsync(string jobId, params string[] paths)
    {
        var server = await LoopbackServer.Shared;
        return ["crawl", "--job-id", jobId, "--allow-network", "127.0.0.1/32", "--header", $"X-Api-Key: {Secret}-header",
            .. paths.SelectMany(path => new[] { "--url", server.Url(path).AbsoluteUri }),
            "--connection-string", await SharedAzurite.ConnectionStringAsync()];
    }

    [Fact]
    public async Task Crawl_OtlpEndpointOption_TracesAndMetricsReachTheReceiverWithoutQueryOrHeaderValue()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var (app, output, error) = await CreateSutAsync();
        var jobId = $"otlp-{Guid.NewGuid():N}"[..20];
        var args = await CrawlArgsAsync(jobId, $"/bytes/1000?secret={Secret}", $"/status/404?secret={Secret}", $"/redirect/1?secret={Secret}");

        var exitCode = await app.RunAsync([.. args, "--otlp-endpoint", receiver.Endpoint.AbsoluteUri], CancellationToken.None);

        Assert.True(exitCode == ExitCodes.Success, error.ToString() + output);
        // The console summary is as it always is.
        Assert.Contains($"{jobId}/summary.json", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("HTTP 404", output.ToString(), StringComparison.Ordinal);
        // Flushed on exit: no export interval had passed.
        Assert.True(receiver.Received(OtlpReceiver.Traces, jobId));
        Assert.True(receiver.Received(OtlpReceiver.Traces, "fetchfn.job"));
        Assert.True(receiver.Received(OtlpReceiver.Traces, "fetchfn.fetch"));
        Assert.True(receiver.Received(OtlpReceiver.Traces, "http.response.status_code"));
        Assert.True(receiver.Received(OtlpReceiver.Traces, "fetchfn"), "the service name");
        Assert.True(receiver.Received(OtlpReceiver.Metrics, "fetchfn.urls"));
        Assert.True(receiver.Received(OtlpReceiver.Metrics, "fetchfn.fetch.duration"));
        Assert.False(receiver.ReceivedAnywhere(Secret));
        Assert.False(receiver.ReceivedAnywhere("secret="));
    }

    [Fact]
    public async Task Crawl_OtlpEndpointInTheEnvironment_Exports()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var (app, output, error) = await CreateSutAsync(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.AbsoluteUri });
        var jobId = $"otlp-env-{Guid.NewGuid():N}"[..20];

        var exitCode = await app.RunAsync(await CrawlArgsAsync(jobId, "/bytes/10"), CancellationToken.None);

        Assert.True(exitCode == ExitCodes.Success, error.ToString() + output);
        Assert.True(receiver.Received(OtlpReceiver.Traces, jobId));
        Assert.True(receiver.Received(OtlpReceiver.Metrics, "fetchfn.urls"));
    }

    [Fact]
    public async Task Crawl_CancelledWhileFetching_FlushesTheSpansSoFar()
    {
        var server = await LoopbackServer.Shared;
        await using var receiver = await OtlpReceiver.StartAsync();
        var (app, _, _) = await CreateSutAsync();
        var jobId = $"otlp-cancel-{Guid.NewGuid():N}"[..20];
        var key = $"cancel-{Guid.NewGuid():N}";
        using var cancellation = new CancellationTokenSource();

        var run = app.RunAsync([.. await CrawlArgsAsync(jobId, $"/hang/{key}"), "--otlp-endpoint", receiver.Endpoint.AbsoluteUri], cancellation.Token);
        await Poll.UntilAsync(() => server.Attempts(key) > 0, "the fetch reached the server");
        await cancellation.CancelAsync();

        Assert.Equal(ExitCodes.Cancelled, await run);
        Assert.True(receiver.Received(OtlpReceiver.Traces, jobId));
        Assert.True(receiver.Received(OtlpReceiver.Traces, "cancelled"));
    }

    [Theory]
    [InlineData("not-a-url")]
    [InlineData("ftp://127.0.0.1:4318")]
    public async Task Crawl_UnusableOtlpEndpoint_ExitsTwoNamingIt(string endpoint)
    {
        var (app, _, error) = await CreateSutAsync();

        var exitCode = await app.RunAsync([.. await CrawlArgsAsync("otlp-bad", "/bytes/10"), "--otlp-endpoint", endpoint], CancellationToken.None);

        Assert.Equal(ExitCodes.InvalidInput, exitCode);
        Assert.Contains("OTLP endpoint", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_Crawl_ShowsTheOtlpOption()
    {
        var (app, output, _) = await CreateSutAsync();

        await app.RunAsync(["crawl", "--help"], CancellationToken.None);

        Assert.Contains("--otlp-endpoint", output.ToString(), StringComparison.Ordinal);
    }
}
