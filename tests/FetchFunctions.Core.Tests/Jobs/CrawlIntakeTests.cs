using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Queues;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class CrawlIntakeTests
{
    private static async Task<(ICrawlIntake Sut, EngineHost Host)> CreateSutAsync(IDictionary<string, string?>? settings = null)
    {
        var host = await EngineHost.StartAsync(settings);
        return (host.Provider.GetRequiredService<ICrawlIntake>(), host);
    }

    private static async Task<List<string>> BlobNamesAsync(EngineHost host)
    {
        var names = new List<string>();
        await foreach (var blob in host.Container.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }

    private static async Task<string[]> LinesAsync(EngineHost host, string blobName) =>
        Encoding.UTF8.GetString(await host.DownloadAsync(blobName)).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static async Task<StoredJob> StoredJobAsync(EngineHost host, string jobId) =>
        JsonSerializer.Deserialize(await host.DownloadAsync(BlobNames.Job(jobId)), CrawlJsonContext.Default.StoredJob)!;

    [Fact]
    public async Task SubmitAsync_ValidInlineJob_StoresJobAndNormalisedUrlList()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        var result = await sut.SubmitAsync(new CrawlJobRequest
        {
            JobId = "inline-1",
            Urls = ["https://B.example/x#a", "https://a.example:443/", "https://b.example/x", "http://c.example/p?q=1"],
            Options = new CrawlJobOptions { MaxRetries = 1, BatchSize = 2 },
        }, CancellationToken.None);

        Assert.True(result.Accepted);
        Assert.Equal(new JobTicket("inline-1", "inline-1/job.json"), result.Ticket);
        Assert.Equal((3, 1), (result.UrlCount, result.DuplicatesRemoved));
        Assert.Equal(["inline-1/job.json", "inline-1/urls.txt"], (await BlobNamesAsync(host)).Order(StringComparer.Ordinal));
        Assert.Equal(["https://b.example/x", "https://a.example/", "http://c.example/p?q=1"], await LinesAsync(host, "inline-1/urls.txt"));
        var job = await StoredJobAsync(host, "inline-1");
        Assert.Equal(("inline-1", 3, 1, "inline-1/urls.txt"), (job.JobId, job.UrlCount, job.DuplicatesRemoved, job.UrlListBlobName));
        Assert.Equal((1, 2), (job.Settings.MaxRetries, job.Settings.BatchSize));
    }

    [Fact]
    public async Task SubmitAsync_InvalidJob_StoresNothing()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        var result = await sut.SubmitAsync(new CrawlJobRequest { JobId = "bad/id", Urls = ["ftp://x.example/"] }, CancellationToken.None);

        Assert.False(result.Accepted);
        Assert.Equal(["jobId", "urls[0]"], result.Problems.Select(p => p.Path));
        Assert.Empty(await BlobNamesAsync(host));
    }

    [Fact]
    public async Task SubmitAsync_SameJobIdAgain_OverwritesTheSameBlobs()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        await sut.SubmitAsync(new CrawlJobRequest { JobId = "again", Urls = ["https://a.example/1", "https://a.example/2"] }, CancellationToken.None);
        var second = await sut.SubmitAsync(new CrawlJobRequest { JobId = "again", Urls = ["https://a.example/3"] }, CancellationToken.None);

        Assert.True(second.Accepted);
        Assert.Equal(["again/job.json", "again/urls.txt"], (await BlobNamesAsync(host)).Order(StringComparer.Ordinal));
        Assert.Equal(["https://a.example/3"], await LinesAsync(host, "again/urls.txt"));
        Assert.Equal(1, (await StoredJobAsync(host, "again")).UrlCount);
    }

    [Fact]
    public async Task SubmitAsync_NoJobId_GeneratesSafeUniqueIds()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var request = new CrawlJobRequest { Urls = ["https://a.example/"] };

        var first = await sut.SubmitAsync(request, CancellationToken.None);
        var second = await sut.SubmitAsync(request, CancellationToken.None);

        Assert.True(CrawlJobValidator.IsValidJobId(first.Ticket!.JobId));
        Assert.NotEqual(first.Ticket.JobId, second.Ticket!.JobId);
    }

    [Fact]
    public async Task SubmitAsync_UrlListBlob_StreamsLinesAndStoresUniqueUrls()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        var lines = Enumerable.Range(0, 5000).Select(i => $"https://h{i % 4000 % 7}.example/page/{i % 4000}").Prepend("# comment").Append("");
        await host.Container.UploadBlobAsync("_uploads/big.txt", BinaryData.FromString(string.Join("\r\n", lines)));

        var result = await sut.SubmitAsync(new CrawlJobRequest { JobId = "from-list", UrlListBlob = "_uploads/big.txt" }, CancellationToken.None);

        Assert.True(result.Accepted, string.Join("; ", result.Problems));
        Assert.Equal((4000, 1000), (result.UrlCount, result.DuplicatesRemoved));
        var stored = await LinesAsync(host, "from-list/urls.txt");
        Assert.Equal(4000, stored.Length);
        Assert.Equal(4000, stored.Distinct().Count());
        Assert.Equal("https://h0.example/page/0", stored[0]);
    }

    [Fact]
    public async Task SubmitAsync_UrlListBlobWithBadLines_ReportsLinesAndStoresNothing()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;
        await host.Container.UploadBlobAsync("_uploads/list.txt", BinaryData.FromString("https://ok.example/\nmailto:x@y.example\n\nhttps://u:p@ok.example/\n"));

        var result = await sut.SubmitAsync(new CrawlJobRequest { JobId = "bad-list", UrlListBlob = "_uploads/list.txt" }, CancellationToken.None);

        Assert.Equal(["urlListBlob:2", "urlListBlob:4"], result.Problems.Select(p => p.Path));
        Assert.Equal(["_uploads/list.txt"], await BlobNamesAsync(host));
    }

    private static HostUrlList HostList(string text) => new("urlsFile", _ => Task.FromResult<Stream>(new MemoryStream(Encoding.UTF8.GetBytes(text))));

    [Fact]
    public async Task SubmitAsync_HostUrlList_BecomesTheJobsUrlListAndNothingElse()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        var result = await sut.SubmitAsync(new CrawlJobRequest { JobId = "host-list", Urls = ["https://a.example/"] },
            HostList("# comment\nhttps://b.example/\nhttps://A.example/\n"), CancellationToken.None);

        Assert.True(result.Accepted, string.Join("; ", result.Problems));
        Assert.Equal((2, 1), (result.UrlCount, result.DuplicatesRemoved));
        Assert.Equal(["https://a.example/", "https://b.example/"], await LinesAsync(host, "host-list/urls.txt"));
        Assert.Equal(["host-list/job.json", "host-list/urls.txt"], (await BlobNamesAsync(host)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SubmitAsync_InvalidHostUrlList_StoresNothing()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        var result = await sut.SubmitAsync(new CrawlJobRequest { JobId = "bad-host-list" }, HostList("https://b.example/\nftp://c.example/\n"), CancellationToken.None);

        Assert.Equal(["urlsFile:2"], result.Problems.Select(p => p.Path));
        Assert.False((await host.Container.ExistsAsync()).Value && (await BlobNamesAsync(host)).Count > 0);
    }

    [Fact]
    public async Task SubmitAsync_HostUrlListOfEndlessCommentLines_StopsReadingAndReportsIt()
    {
        var (sut, host) = await CreateSutAsync(new Dictionary<string, string?> { ["Crawl:MaxUrls"] = "10", ["Crawl:MaxInlineUrls"] = "10" });
        await using var _ = host;
        var comments = string.Concat(Enumerable.Repeat("#\n", 5000));

        var result = await sut.SubmitAsync(new CrawlJobRequest(), HostList(comments), CancellationToken.None);

        var problem = Assert.Single(result.Problems);
        Assert.Equal("urlsFile:1040", problem.Path);
        Assert.Contains("reading stopped after 1040 lines", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_MissingUrlListBlob_ReportsIt()
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        var result = await sut.SubmitAsync(new CrawlJobRequest { UrlListBlob = "_uploads/nope.txt" }, CancellationToken.None);

        Assert.Equal("urlListBlob", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public async Task OpenUrlListAsync_BlobChangedAfterValidation_SecondReadFails()
    {
        await using var host = await EngineHost.StartAsync();
        var store = host.Provider.GetRequiredService<JobStore>();
        await host.Container.UploadBlobAsync("l.txt", BinaryData.FromString("https://a.example/\n"));
        var source = (await store.OpenUrlListAsync("l.txt", 2048, CancellationToken.None))!;
        Assert.Single(await source.ReadAsync(CancellationToken.None).ToListAsync());

        await host.Container.GetBlobClient("l.txt").UploadAsync(BinaryData.FromString("https://evil.example/\n"), overwrite: true);

        var ex = await Assert.ThrowsAsync<RequestFailedException>(async () => await source.ReadAsync(CancellationToken.None).ToListAsync());
        Assert.Equal(412, ex.Status);
    }

    [Fact]
    public async Task EnqueueAsync_Ticket_ArrivesAsTheQueueTriggerReadsIt()
    {
        var queueName = $"intake-{Guid.NewGuid():N}";
        var (sut, host) = await CreateSutAsync(new Dictionary<string, string?> { ["Storage:IntakeQueueName"] = queueName });
        await using var _ = host;
        var ticket = new JobTicket("job-7", "job-7/job.json");

        await sut.EnqueueAsync(ticket, CancellationToken.None);

        var connection = await SharedAzurite.ConnectionStringAsync();
        var trigger = new QueueClient(connection, queueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var raw = new QueueClient(connection, queueName);
        var peeked = (await raw.PeekMessageAsync()).Value;
        Assert.Equal(ticket.ToMessage(), Encoding.UTF8.GetString(Convert.FromBase64String(peeked.Body.ToString())));
        var received = (await trigger.ReceiveMessageAsync()).Value;
        Assert.Equal(ticket, JobTicket.TryParse(received.Body.ToString()));
        await raw.DeleteAsync();
    }

    [Theory]
    [InlineData("no-such-job")]
    [InlineData("../escape")]
    public async Task GetSummaryAsync_NoSummary_ReturnsNull(string jobId)
    {
        var (sut, host) = await CreateSutAsync();
        await using var _ = host;

        Assert.Null(await sut.GetSummaryAsync(jobId, CancellationToken.None));
    }
}
