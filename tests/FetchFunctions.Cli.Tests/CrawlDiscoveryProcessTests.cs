using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Cli.Tests.Infrastructure;
using FetchFunctions.Core.Tests.Discovery;
using FetchFunctions.Core.Tests.Infrastructure;

namespace FetchFunctions.Cli.Tests;

/// <summary>A discovering crawl (<c>fetchfn crawl --url ... --depth 2</c>) as a user runs it: a child process, killed
/// mid-round (SIGKILL of the CLI; the test's shared Azurite keeps what it stored) and run again with its job id.</summary>
public sealed class CrawlDiscoveryProcessTests
{
    private const int Pages = 40, BatchSize = 5, BatchesInFlight = 2, AnsweredBeforeHold = 10;

    /// <summary>A home page linking to /p/0../p/39 (depth 1), each linking to its /q/i (depth 2): 81 pages.</summary>
    private static async Task<SiteGraph> StartSiteAsync()
    {
        var site = await SiteGraph.StartAsync();
        site.Pages["{site}/"] = string.Concat(Enumerable.Range(0, Pages).Select(i => $"<a href=\"/p/{i}\">p{i}</a> "));
        for (var i = 0; i < Pages; i++)
        {
            site.Pages[$"{{site}}/p/{i}"] = $"<a href=\"/q/{i}\">q{i}</a> <a href=\"/\">home</a>";
            site.Pages[$"{{site}}/q/{i}"] = $"<p>leaf {i}</p>";
        }

        return site;
    }

    private static async Task<List<string>> ResultUrlsAsync(BlobContainerClient container, string run)
    {
        var urls = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"{run}/results/" }))
        {
            var text = (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString();
            urls.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("url").GetString()!));
        }

        return urls;
    }

    [Fact]
    public async Task Crawl_DiscoveryKilledMidRoundAndRunAgainWithItsJobId_CompletesFetchingOnlyWhatWasInFlightTwice()
    {
        await using var site = await StartSiteAsync();
        var run = $"dkill{Guid.NewGuid():N}"[..16];
        var container = $"c{Guid.NewGuid():N}";
        // Depth 2's pages are answered until AnsweredBeforeHold of them were, then held until the first run is dead: the
        // kill comes in the middle of round 2, with its first batches committed and one request in flight.
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var depthTwoRequests = 0;
        site.BeforeAnswer = async (key, token) =>
        {
            if (key.StartsWith("{site}/q/", StringComparison.Ordinal) && Interlocked.Increment(ref depthTwoRequests) > AnsweredBeforeHold)
            {
                await hold.Task.WaitAsync(token);
            }
        };
        string[] args = ["crawl", "--job-id", run, "--url", site.Site.AbsoluteUri, "--depth", "2", "--batch-size", $"{BatchSize}",
            "--batches-in-flight", $"{BatchesInFlight}", "--per-host", "1", "--allow-network", "127.0.0.1/32",
            "--connection-string", await SharedAzurite.ConnectionStringAsync()];
        var environment = new Dictionary<string, string?> { ["Storage__ContainerName"] = container };
        var blobs = new BlobServiceClient(await SharedAzurite.ConnectionStringAsync()).GetBlobContainerClient(container);
        using (var first = CliProcess.Start(args, environment))
        {
            // One request at a time (--per-host 1), in batch order: the pages answered fill round 2's first two batches,
            // and the kill comes once both are committed, with the next request held.
            await Poll.UntilAsync(async () => Volatile.Read(ref depthTwoRequests) > AnsweredBeforeHold
                    && (await ResultUrlsAsync(blobs, run)).Count(u => u.Contains("/q/", StringComparison.Ordinal)) >= AnsweredBeforeHold,
                "round 2's first batches committed and a request held", TimeSpan.FromMinutes(2));
            first.Kill();
        }

        hold.SetResult();
        var stored = (await ResultUrlsAsync(blobs, run)).ToHashSet(StringComparer.Ordinal);
        var before = site.Requests.GroupBy(r => r, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        // Every depth-1 page and some, not all, of depth 2's were stored before the kill.
        Assert.InRange(stored.Count(u => u.Contains("/q/", StringComparison.Ordinal)), AnsweredBeforeHold, Pages - 1);
        Assert.Equal(Pages, stored.Count(u => u.Contains("/p/", StringComparison.Ordinal)));

        using (var second = CliProcess.Start(args, environment))
        {
            Assert.True(await second.WaitAsync() == ExitCodes.Success, second.Error + second.Output);
        }

        var results = await ResultUrlsAsync(blobs, run);
        var expected = site.Seen(["{site}/", .. Enumerable.Range(0, Pages).SelectMany(i => new[] { $"{{site}}/p/{i}", $"{{site}}/q/{i}" })]);
        Assert.Equal(expected, results.Select(u => u.Replace("http://", string.Empty, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var pageRequests = site.Requests.Where(r => !r.EndsWith("/robots.txt", StringComparison.Ordinal))
            .GroupBy(r => r, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        Assert.Equal(expected, pageRequests.Keys.Order(StringComparer.Ordinal));
        Assert.All(pageRequests.Values, count => Assert.InRange(count, 1, 2));
        // Requested twice: only pages of the batches in flight at the kill, never a page whose result was stored.
        var twice = pageRequests.Where(p => p.Value == 2).Select(p => "http://" + p.Key).ToList();
        Assert.DoesNotContain(twice, stored.Contains);
        Assert.All(twice, url => Assert.Equal(1, before[url["http://".Length..]]));
        Assert.InRange(twice.Count, 1, BatchesInFlight * BatchSize);
        var summary = JsonDocument.Parse((await blobs.GetBlobClient($"{run}/summary.json").DownloadContentAsync()).Value.Content.ToString()).RootElement;
        Assert.Equal(1 + 2 * Pages, summary.GetProperty("succeeded").GetInt64());
        Assert.Equal(Pages, summary.GetProperty("discovery").GetProperty("pagesByDepth")[2].GetInt64());
    }
}
