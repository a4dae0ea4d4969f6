using System.Globalization;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Orchestration;

/// <summary>A run interrupted part-way and run again under the same job id: real engine, Azurite and loopback server,
/// which counts the requests each URL received.</summary>
public sealed class CrawlResumeTests
{
    private const int UrlCount = 120;
    private const int BatchSize = 10;
    private const int BatchesInFlight = 2;
    private const int LaneBatchesOpen = 3;

    private static Task<EngineHost> CreateSutAsync() => EngineHost.StartAsync(new Dictionary<string, string?>
    {
        ["Crawl:LaneBatchesOpen"] = LaneBatchesOpen.ToString(CultureInfo.InvariantCulture),
    });

    /// <summary>Mostly 200s of different sizes, every seventh a 404: outcomes that do not depend on earlier requests.</summary>
    private static List<string> Urls(LoopbackServer server, string run) => [.. Enumerable.Range(0, UrlCount).Select(i => i % 7 == 3
        ? server.Url($"/crawl/{run}/missing/{i}/0").AbsoluteUri
        : server.Url($"/crawl/{run}/ok/{i}/{100 + i * 13}").AbsoluteUri)];

    private static int Requests(LoopbackServer server, string run, int i) =>
        server.Attempts(string.Create(CultureInfo.InvariantCulture, $"{run}:{(i % 7 == 3 ? "missing" : "ok")}:{i}"));

    private static async Task<JobTicket> SubmitAsync(EngineHost host, string jobId, IReadOnlyList<string> urls, int? maxRetries = null)
    {
        var result = await host.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
        {
            JobId = jobId,
            Urls = urls,
            Options = new CrawlJobOptions { BatchSize = BatchSize, MaxBatchesInFlight = BatchesInFlight, MaxRetries = maxRetries },
        }, CancellationToken.None);
        return result.Ticket ?? throw new InvalidOperationException(string.Join("; ", result.Problems));
    }

    /// <summary>Cancels the run once <paramref name="batches"/> batches are done, from the progress report itself.</summary>
    private sealed class CancelAfter(int batches, CancellationTokenSource cancellation) : IProgress<CrawlProgress>
    {
        public void Report(CrawlProgress value)
        {
            if (value.BatchesDone >= batches)
            {
                // Off the reporting thread: cancelling runs callbacks of the run itself.
                _ = Task.Run(cancellation.Cancel);
            }
        }
    }

    /// <summary>What a summary says about the URLs, with the run's key taken out of them (timings left aside).</summary>
    private static object Figures(CrawlSummary summary, string run) => new
    {
        summary.Total,
        summary.Succeeded,
        summary.Failed,
        summary.Batches,
        summary.Bytes,
        summary.BodiesStored,
        summary.StoredBytes,
        summary.Attempts,
        Statuses = string.Join(',', summary.StatusCodes.Select(s => $"{s.Key}={s.Value}")),
        Errors = string.Join(',', summary.ErrorKinds.Select(s => $"{s.Key}={s.Value}")),
        Hosts = string.Join(',', summary.Hosts.Select(h => h.ToString())),
        FailedUrls = string.Join(',', summary.FailedUrls.Select(f => (f with { Url = f.Url.Replace(run, "RUN", StringComparison.Ordinal) }).ToString())),
    };

    [Fact]
    public async Task RunAsync_InterruptedThenRunAgain_FetchesOnlyTheBatchesInFlightAndSummarisesAsAnUninterruptedRun()
    {
        var server = await LoopbackServer.Shared;
        await using var host = await CreateSutAsync();
        var runner = host.Provider.GetRequiredService<ICrawlRunner>();
        var run = $"res{Guid.NewGuid():N}"[..16];
        var reference = $"ref{Guid.NewGuid():N}"[..16];
        var uninterrupted = await runner.RunAsync(await SubmitAsync(host, reference, Urls(server, reference)), null, CancellationToken.None);
        var ticket = await SubmitAsync(host, run, Urls(server, run));

        using var cancellation = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(ticket, new CancelAfter(4, cancellation), cancellation.Token));
        var batchCount = UrlCount / BatchSize;
        var stored = new List<int>();
        for (var batch = 0; batch < batchCount; batch++)
        {
            if (await host.ExistsAsync(BlobNames.BatchResults(run, batch)))
            {
                stored.Add(batch);
            }
        }

        Assert.InRange(stored.Count, 4, batchCount - 1);
        var plan = await host.Provider.GetRequiredService<CrawlPlanner>().PlanAsync(ticket, CancellationToken.None);
        var store = host.Provider.GetRequiredService<JobStore>();
        var urlsOfStored = new HashSet<string>(StringComparer.Ordinal);
        foreach (var batch in stored)
        {
            urlsOfStored.UnionWith((await store.ReadBatchManifestAsync(run, batch, plan.BatchesPerShard, CancellationToken.None)).Urls);
        }

        var before = Enumerable.Range(0, UrlCount).Select(i => Requests(server, run, i)).ToArray();

        // The same job submitted again (as the CLI does with the same --job-id) and run to the end.
        var resumed = await runner.RunAsync(await SubmitAsync(host, run, Urls(server, run)), null, CancellationToken.None);

        var urls = Urls(server, run);
        var again = new List<int>();
        for (var i = 0; i < UrlCount; i++)
        {
            var requests = Requests(server, run, i);
            if (urlsOfStored.Contains(urls[i]))
            {
                Assert.Equal(1, requests);
            }
            else
            {
                Assert.Equal(1, requests - before[i]);
                if (before[i] > 0)
                {
                    again.Add(i);
                }
            }
        }

        // Only URLs of batches that were still open at the cancel were fetched a second time: the URLs are all on one
        // host, so one lane, whose call keeps at most LaneBatchesOpen batches open.
        Assert.InRange(again.Count, 0, LaneBatchesOpen * BatchSize);
        Assert.Equal(Figures(uninterrupted, reference), Figures(resumed, run));
    }

    [Fact]
    public async Task RunAsync_JobChangedUnderTheSameId_FetchesEverythingAgain()
    {
        var server = await LoopbackServer.Shared;
        await using var host = await CreateSutAsync();
        var runner = host.Provider.GetRequiredService<ICrawlRunner>();
        var run = $"chg{Guid.NewGuid():N}"[..16];
        await runner.RunAsync(await SubmitAsync(host, run, Urls(server, run)), null, CancellationToken.None);

        var changed = await runner.RunAsync(await SubmitAsync(host, run, Urls(server, run), maxRetries: 1), null, CancellationToken.None);

        Assert.Equal(UrlCount, changed.Total);
        Assert.All(Enumerable.Range(0, UrlCount), i => Assert.Equal(2, Requests(server, run, i)));
    }

    [Fact]
    public async Task RunAsync_SameJobRunAgainAfterCompleting_FetchesNothing()
    {
        var server = await LoopbackServer.Shared;
        await using var host = await CreateSutAsync();
        var runner = host.Provider.GetRequiredService<ICrawlRunner>();
        var run = $"same{Guid.NewGuid():N}"[..16];
        var first = await runner.RunAsync(await SubmitAsync(host, run, Urls(server, run)), null, CancellationToken.None);

        // A retried activity or a re-planned run of the same plan: every batch's results are read back.
        var second = await runner.RunAsync(await SubmitAsync(host, run, Urls(server, run)), null, CancellationToken.None);

        Assert.All(Enumerable.Range(0, UrlCount), i => Assert.Equal(1, Requests(server, run, i)));
        Assert.Equal(Figures(first, run), Figures(second, run));
    }
}
