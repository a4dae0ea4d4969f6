using FetchFunctions.Tests.Infrastructure;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Tests;

/// <summary>What the worker would forward to the host (and, in Azure, to Application Insights) for a healthy job.</summary>
[Collection(AppTests.Name)]
public sealed class WorkerLoggingTests
{
    private const string QuerySecret = "query-secret-7f3a";
    private const string HeaderSecret = "header-secret-91c2";

    [Fact]
    public async Task HealthyJob_RunThroughTheAppsFunctions_LogsNoAzureSdkLinesNoWarningsNoQueriesOrHeaderValues()
    {
        // A host of its own, so that no other test's background work writes into this one's log.
        var app = new AppHost();
        await app.InitializeAsync();
        try
        {
            var jobId = $"logs-{Guid.NewGuid():N}";
            var urls = Enumerable.Range(0, 3).Select(i => app.Site.Url($"/page/{jobId}-{i}?token={QuerySecret}&n={i}")).ToArray();

            var status = await app.RunJobAsync(
                new { jobId, urls, options = new { batchSize = 1, headers = new Dictionary<string, string> { ["X-Test-Token"] = HeaderSecret } } },
                jobId);
            var delete = await app.DeleteAsync(jobId);

            Assert.Equal("Completed", status.Body.GetProperty("runtimeStatus").GetString());
            Assert.Equal(202, delete.Status);
            var lines = app.Logs.Lines;
            // The capture works: the job's own lines are there.
            Assert.Contains(lines, line => line.Message.Contains(jobId, StringComparison.Ordinal));
            Assert.All(lines, line =>
            {
                var text = $"{line.Category} {line.Level} {line.Message} {line.Exception}";
                Assert.False(line.Category.StartsWith("Azure.", StringComparison.Ordinal), text);
                Assert.DoesNotContain("Response [", line.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("Request [", line.Message, StringComparison.Ordinal);
                Assert.True(line.Level < LogLevel.Warning, text);
                Assert.DoesNotContain(QuerySecret, text, StringComparison.Ordinal);
                Assert.DoesNotContain("?token=", text, StringComparison.Ordinal);
                Assert.DoesNotContain(HeaderSecret, text, StringComparison.Ordinal);
            });
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await app.Client.GetInstanceAsync(jobId))?.RuntimeStatus);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
