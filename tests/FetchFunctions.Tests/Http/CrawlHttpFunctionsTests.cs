using System.Text;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Tests.Infrastructure;

namespace FetchFunctions.Tests.Http;

/// <summary>The HTTP API through the app's <c>CrawlHttpFunctions</c>, answers executed as the ASP.NET Core integration does.</summary>
[Collection(AppTests.Name)]
public sealed class CrawlHttpFunctionsTests(AppHost app)
{
    private const string ProblemJson = "application/problem+json";

    private static void AssertProblem(HttpAnswer answer, int status)
    {
        Assert.Equal(status, answer.Status);
        Assert.StartsWith(ProblemJson, answer.ContentType, StringComparison.Ordinal);
        Assert.Equal(status, answer.Body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(answer.Body.GetProperty("title").GetString()));
    }

    [Fact]
    public async Task SubmitCrawl_ValidJob_Answers202AndPutsABase64TicketOnTheIntakeQueue()
    {
        var jobId = $"post-{Guid.NewGuid():N}";
        var url = app.Site.Url($"/page/{jobId}");

        var (answer, _) = await app.PostAsync(new { jobId, urls = new[] { url, url } });

        Assert.Equal(202, answer.Status);
        Assert.Equal($"http://localhost:7071/api/crawls/{jobId}", answer.Location);
        Assert.Equal(jobId, answer.Body.GetProperty("jobId").GetString());
        Assert.Equal(answer.Location, answer.Body.GetProperty("statusUrl").GetString());
        Assert.Equal(1, answer.Body.GetProperty("urlCount").GetInt32());
        Assert.Equal(1, answer.Body.GetProperty("duplicatesRemoved").GetInt32());

        // In Azurite the message body is the Base64 of the ticket JSON, which is what the queue trigger decodes.
        var raw = await app.TakeRawIntakeMessageAsync(jobId);
        var ticket = JobTicket.TryParse(Encoding.UTF8.GetString(Convert.FromBase64String(raw)));
        Assert.Equal(new JobTicket(jobId, $"{jobId}/job.json"), ticket);
        Assert.True((await app.Container.GetBlobClient(ticket!.JobBlobName).ExistsAsync()).Value);
    }

    [Fact]
    public async Task SubmitCrawl_MalformedJson_Answers400WithProblemDetailsAndEnqueuesNothing()
    {
        var (answer, message) = await app.PostAsync("{\"urls\": [\"http://127.0.0.1/\"");

        AssertProblem(answer, 400);
        Assert.Equal("The request body is not valid JSON.", answer.Body.GetProperty("title").GetString());
        Assert.Null(message);
    }

    [Fact]
    public async Task SubmitCrawl_EmptyBody_Answers400WithProblemDetails()
    {
        var (answer, message) = await app.PostAsync([]);

        AssertProblem(answer, 400);
        Assert.Equal("The request body is empty.", answer.Body.GetProperty("title").GetString());
        Assert.Null(message);
    }

    [Fact]
    public async Task SubmitCrawl_InvalidJob_Answers400ListingEveryProblemAndStoresNothing()
    {
        var jobId = $"bad-{Guid.NewGuid():N}";

        var (answer, message) = await app.PostAsync(new
        {
            jobId,
            urls = new[] { "not a url", "ftp://127.0.0.1/file", app.Site.Url("/page/ok") },
            options = new { batchSize = 0, maxConcurrency = -1 },
        });

        AssertProblem(answer, 400);
        var paths = answer.Body.GetProperty("problems").EnumerateArray().Select(p => p.GetProperty("path").GetString()).ToList();
        Assert.True(paths.Count == 4, string.Join(", ", paths));
        Assert.Contains("urls[0]", paths);
        Assert.Contains("urls[1]", paths);
        Assert.Contains("options.batchSize", paths);
        Assert.Contains("options.maxConcurrency", paths);
        Assert.Null(message);
        Assert.False((await app.Container.GetBlobClient($"{jobId}/job.json").ExistsAsync()).Value);
    }

    [Fact]
    public async Task SubmitCrawl_ChunkedBodyOverTheLimit_Answers413WithProblemDetails()
    {
        // Valid JSON that only grows: whitespace after the object, so the limit, not the parser, stops it.
        var body = Encoding.UTF8.GetBytes("{\"urls\": []}" + new string(' ', AppHost.MaxRequestBodyBytes));

        var (answer, message) = await app.PostAsync(body, contentLength: null);

        AssertProblem(answer, 413);
        Assert.Contains("urlListBlob", answer.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Null(message);
    }

    [Fact]
    public async Task SubmitCrawl_DeclaredLengthOverTheLimit_Answers413WithoutReadingTheBody()
    {
        var body = new UnreadableStream();

        var (answer, message) = await app.PostAsync([], contentLength: AppHost.MaxRequestBodyBytes + 1L, bodyStream: body);

        AssertProblem(answer, 413);
        Assert.Null(message);
        Assert.False(body.WasRead);
    }

    [Fact]
    public async Task GetAndCancelCrawl_UnknownId_Answer404WithProblemDetails()
    {
        var id = $"unknown-{Guid.NewGuid():N}";

        AssertProblem(await app.GetAsync(id), 404);
        AssertProblem(await app.DeleteAsync(id), 404);
    }

    /// <summary>A body that records whether anyone read it.</summary>
    private sealed class UnreadableStream : MemoryStream
    {
        public bool WasRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            WasRead = true;
            return base.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            WasRead = true;
            return base.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WasRead = true;
            return base.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            WasRead = true;
            return base.ReadAsync(buffer, offset, count, cancellationToken);
        }
    }
}
