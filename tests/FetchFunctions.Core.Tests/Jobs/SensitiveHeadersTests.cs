using System.Collections.Concurrent;
using System.Text;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class SensitiveHeadersTests
{
    [Theory]
    [InlineData("Authorization")]
    [InlineData("proxy-authorization")]
    [InlineData("Cookie")]
    [InlineData("Set-Cookie")]
    [InlineData("X-Api-Key")]
    [InlineData("X-Auth-Token")]
    [InlineData("Client-Secret")]
    [InlineData("X-Password")]
    public void IsSensitive_CredentialHeader_IsTrue(string name) => Assert.True(SensitiveHeaders.IsSensitive(name));

    [Theory]
    [InlineData("Accept")]
    [InlineData("X-Trace")]
    [InlineData("Referer")]
    public void IsSensitive_OrdinaryHeader_IsFalse(string name) => Assert.False(SensitiveHeaders.IsSensitive(name));

    [Fact]
    public void Shown_SensitiveValue_IsRedacted() =>
        Assert.Equal((SensitiveHeaders.Redacted, "text/html"), (SensitiveHeaders.Shown("Cookie", "s=1"), SensitiveHeaders.Shown("Accept", "text/html")));

    [Fact]
    public async Task Job_WithCredentialHeaders_NeverPutsTheirValuesInLogsResultsOrSummary()
    {
        var server = await LoopbackServer.Shared;
        await using var host = await EngineHost.StartAsync();
        var logs = new CapturingLoggerProvider();
        host.Provider.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        var key = Guid.NewGuid().ToString("N");
        var headers = new Dictionary<string, string>
        {
            ["Authorization"] = "Bearer sekrit-1", ["Cookie"] = "s=sekrit-2", ["X-Api-Key"] = "sekrit-3", ["X-Session-Token"] = "sekrit-4",
        };
        var submitted = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
        {
            JobId = "secret-headers",
            Urls = [server.Url("/headers").AbsoluteUri, server.Url($"/flaky/{key}/9/503").AbsoluteUri, server.Url($"/hang/{key}-h").AbsoluteUri, server.Url("/status/404").AbsoluteUri],
            Options = new CrawlJobOptions { Headers = headers, MaxRetries = 1, AttemptTimeoutSeconds = 1, TotalTimeoutSeconds = 2, AllowedNetworks = ["127.0.0.1/32"] },
        }, CancellationToken.None);
        Assert.True(submitted.Accepted, string.Join("; ", submitted.Problems));

        var summary = await host.Provider.GetRequiredService<ICrawlRunner>().RunAsync(submitted.Ticket!, new Progress<CrawlProgress>(), CancellationToken.None);

        var shown = new StringBuilder(string.Join('\n', logs.Lines));
        await foreach (var blob in host.Container.GetBlobsAsync())
        {
            if (!blob.Name.Contains("/bodies/", StringComparison.Ordinal) && !blob.Name.EndsWith("job.json", StringComparison.Ordinal))
            {
                shown.Append(Encoding.UTF8.GetString(await host.DownloadAsync(blob.Name)));
            }
        }

        Assert.Equal(4, summary.Total);
        Assert.Contains("Timeout", shown.ToString(), StringComparison.Ordinal);
        Assert.NotEmpty(logs.Lines);
        Assert.All(headers.Values, value => Assert.DoesNotContain(value.Split('=', ' ')[^1], shown.ToString(), StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                // The message and every structured value: a header value in either would show.
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {values} {exception}");
            }
        }
    }
}
