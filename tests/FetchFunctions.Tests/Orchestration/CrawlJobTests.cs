using System.Text.Json;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Tests.Infrastructure;
using Microsoft.DurableTask.Client;
using FetchFunctions.Core.Tests.Infrastructure;

namespace FetchFunctions.Tests.Orchestration;

/// <summary>Whole jobs through the app's functions: POST, the intake message, the queue function, the orchestrators
/// and activities in the Durable test host, GET and DELETE.</summary>
[Collection(AppTests.Name)]
public sealed class CrawlJobTests(AppHost app)
{
    private static string NewJobId(string name) => $"{name}-{Guid.NewGuid():N}";

    /// <summary>Lines of the job's results blobs, as JSON.</summary>
    private async Task<List<JsonElement>> ResultLinesAsync(string jobId)
    {
        var lines = new List<JsonElement>();
        await foreach (var item in app.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"{jobId}/results/" }))
        {
            var content = (await app.Container.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content.ToString();
            lines.AddRange(content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()));
        }

        return lines;
    }

    private static string RuntimeStatus(HttpAnswer answer) => answer.Body.GetProperty("runtimeStatus").GetString()!;

    private static void AssertCompleted(HttpAnswer status)
    {
        Assert.Equal(200, status.Status);
        Assert.True(RuntimeStatus(status) == "Completed", status.Body.ToString());
    }

    [Fact]
    public async Task SubmittedJob_DeliveredToTheQueueFunction_CompletesWithASummaryThatAgreesWithItsResults()
    {
        var jobId = NewJobId("e2e");
        var urls = new[] { app.Site.Url($"/page/{jobId}-1"), app.Site.Url($"/page/{jobId}-2"), app.Site.Url($"/missing/{jobId}") };

        var status = await app.RunJobAsync(new { jobId, urls, options = new { batchSize = 2 } }, jobId);

        AssertCompleted(status);
        var progress = status.Body.GetProperty("progress");
        Assert.Equal(2, progress.GetProperty("batchesDone").GetInt32());
        Assert.Equal(2, progress.GetProperty("batchesTotal").GetInt32());
        Assert.Equal(3, progress.GetProperty("urlsDone").GetInt64());
        var summary = status.Body.GetProperty("summary");
        var results = await ResultLinesAsync(jobId);
        Assert.Equal(3, results.Count);
        Assert.Equal(results.Count, summary.GetProperty("total").GetInt64());
        Assert.Equal(results.Count(r => r.GetProperty("status").GetInt32() == 200), summary.GetProperty("succeeded").GetInt64());
        Assert.Equal(2, summary.GetProperty("succeeded").GetInt64());
        Assert.Equal(1, summary.GetProperty("failed").GetInt64());
        Assert.Equal(results.Sum(r => r.GetProperty("bytes").GetInt64()), summary.GetProperty("bytes").GetInt64());
        Assert.Equal(1, app.Site.Hits($"/page/{jobId}-1"));
        Assert.True((await app.Container.GetBlobClient($"{jobId}/summary.json").ExistsAsync()).Value);
    }

    [Fact]
    public async Task ShardedJob_Completes_EachShardAnOrchestrationUnderItsOwnInstanceId()
    {
        var jobId = NewJobId("sharded");
        var urls = Enumerable.Range(0, 6).Select(i => app.Site.Url($"/page/{jobId}-{i}")).ToArray();

        // Six batches of one URL, two per shard: three shard sub-orchestrations.
        var status = await app.RunJobAsync(new { jobId, urls, options = new { batchSize = 1 } }, jobId);

        AssertCompleted(status);
        Assert.Equal(6, status.Body.GetProperty("summary").GetProperty("succeeded").GetInt64());
        var rows = await ResultLinesAsync(jobId);
        Assert.Equal(6, rows.Count);
        // Stored as WARC (the default) across the shards: every row names its record's file, each file exists, and the
        // summary step merged one index line per page.
        Assert.All(rows, row => Assert.True(row.TryGetProperty("warcFile", out _), row.ToString()));
        foreach (var file in rows.Select(row => row.GetProperty("warcFile").GetString()).Distinct())
        {
            Assert.True((await app.Container.GetBlobClient($"{jobId}/warc/{file}").ExistsAsync()).Value, file);
        }

        var index = (await app.Container.GetBlobClient($"{jobId}/index.cdxj").DownloadContentAsync()).Value.Content.ToString();
        Assert.Equal(6, index.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        for (var shard = 0; shard < 3; shard++)
        {
            var instance = await app.Client.GetInstanceAsync(CrawlOrchestration.ShardInstanceId(jobId, shard));
            Assert.Equal(OrchestrationRuntimeStatus.Completed, instance?.RuntimeStatus);
        }

        Assert.Null(await app.Client.GetInstanceAsync(CrawlOrchestration.ShardInstanceId(jobId, 3)));
        Assert.Equal(6, app.Site.HitsUnder($"/page/{jobId}-"));
    }

    [Fact]
    public async Task CompletedJob_SameIntakeMessageAgain_StartsNothingNew()
    {
        var jobId = NewJobId("dup");
        var (answer, message) = await app.PostAsync(new { jobId, urls = new[] { app.Site.Url($"/page/{jobId}") } });
        Assert.Equal(202, answer.Status);
        var delivered = await app.DeliverIntakeAsync(jobId);
        var first = await app.WaitForEndAsync(jobId);

        await app.IntakeFunction.StartCrawl(delivered, app.Client, CancellationToken.None);

        var after = await app.Client.GetInstanceAsync(jobId);
        Assert.Equal(message, delivered);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after?.RuntimeStatus);
        Assert.Equal(first.CreatedAt, after?.CreatedAt);
        Assert.Equal(1, app.Site.Hits($"/page/{jobId}"));
    }

    [Fact]
    public async Task RunningShardedJob_Delete_TerminatesItAndItsShardsRepeatably_AndItsMessageRunsItAgain()
    {
        var jobId = NewJobId("cancel");
        // Two hosts, each in a lane of its own (a batch's width equals the per-host limit, so a lane holds one host): a
        // lane's batches run one at a time job-wide, each lane is one shard here, and the two shards fetch at once.
        var urls = Enumerable.Range(0, 4)
            .Select(i => i % 2 == 0 ? app.Site.Url($"/hold/{jobId}/{i}") : app.Site.SecondHostUrl($"/hold/{jobId}/{i}"))
            .ToArray();
        var (answer, _) = await app.PostAsync(new { jobId, urls, options = new { batchSize = 1, maxConcurrency = 4, maxConcurrencyPerHost = 4 } });
        Assert.Equal(202, answer.Status);
        var message = await app.DeliverIntakeAsync(jobId);
        await Poll.UntilAsync(() => app.Site.Hits($"/hold/{jobId}/0") >= 1 && app.Site.Hits($"/hold/{jobId}/1") >= 1, "both shards fetching");

        var cancel = await app.DeleteAsync(jobId);
        var terminated = await app.WaitForEndAsync(jobId);
        var again = await app.DeleteAsync(jobId);

        Assert.Equal(202, cancel.Status);
        Assert.True(cancel.Body.GetProperty("terminateRequested").GetBoolean());
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, terminated.RuntimeStatus);
        for (var shard = 0; shard < 2; shard++)
        {
            var instance = await app.WaitForEndAsync(CrawlOrchestration.ShardInstanceId(jobId, shard));
            Assert.Equal(OrchestrationRuntimeStatus.Terminated, instance.RuntimeStatus);
        }

        Assert.Equal(202, again.Status);
        Assert.False(again.Body.GetProperty("terminateRequested").GetBoolean());
        Assert.Equal("Terminated", RuntimeStatus(await app.GetAsync(jobId)));

        // A shard's instance id names no job: the HTTP API neither reads nor terminates one shard alone.
        var shardId = CrawlOrchestration.ShardInstanceId(jobId, 0);
        Assert.Equal(404, (await app.GetAsync(shardId)).Status);
        Assert.Equal(404, (await app.DeleteAsync(shardId)).Status);

        // The cancelled job's ticket, delivered again (a re-enqueue, a poison message put back), runs it again.
        app.Site.Release(jobId);
        await app.IntakeFunction.StartCrawl(message, app.Client, CancellationToken.None);
        var rerun = await app.WaitForEndAsync(jobId);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, rerun.RuntimeStatus);
        Assert.True(rerun.CreatedAt > terminated.CreatedAt);
        Assert.Equal(4, (await app.GetAsync(jobId)).Body.GetProperty("summary").GetProperty("succeeded").GetInt64());
    }

    [Fact]
    public async Task FailedJob_PostedAndDeliveredAgain_RunsAgainToCompletion()
    {
        var jobId = NewJobId("failed");
        var job = new { jobId, urls = new[] { app.Site.Url($"/page/{jobId}") } };
        Assert.Equal(202, (await app.PostAsync(job)).Answer.Status);
        // The stored job vanishes before the run: planning fails on every attempt, so the run fails.
        await app.Container.DeleteBlobAsync($"{jobId}/job.json");
        await app.DeliverIntakeAsync(jobId);
        var failed = await app.WaitForEndAsync(jobId);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Equal(0, app.Site.Hits($"/page/{jobId}"));

        var (again, _) = await app.PostAsync(job);
        await app.DeliverIntakeAsync(jobId);
        var rerun = await app.WaitForEndAsync(jobId);

        Assert.Equal(202, again.Status);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, rerun.RuntimeStatus);
        Assert.Equal(1, app.Site.Hits($"/page/{jobId}"));
    }
}
