using System.Text;
using System.Text.Json;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Tests.Infrastructure;

namespace FetchFunctions.Tests.Http;

/// <summary><c>GET /api/crawls/{id}/pages?url=...</c> through the app's function, against pages stored in Azurite.</summary>
[Collection(AppTests.Name)]
public sealed class CrawlPageFunctionTests(AppHost app)
{
    private static void AssertProblem((int Status, Microsoft.AspNetCore.Http.IHeaderDictionary Headers, byte[] Body) answer, int status, string detail)
    {
        Assert.Equal(status, answer.Status);
        Assert.StartsWith("application/problem+json", answer.Headers.ContentType.ToString(), StringComparison.Ordinal);
        using var problem = JsonDocument.Parse(answer.Body);
        Assert.Contains(detail, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetCrawlPage_PageOfARunJob_StreamsItsBodyWithTheStoredContentType()
    {
        var jobId = $"pages-{Guid.NewGuid():N}";
        var url = app.Site.Url($"/page/{jobId}");
        await app.RunJobAsync(new { jobId, urls = new[] { url, app.Site.Url($"/missing/{jobId}") } }, jobId);

        var page = await app.GetPageAsync(jobId, url);
        var missing = await app.GetPageAsync(jobId, app.Site.Url($"/missing/{jobId}"));

        Assert.Equal(200, page.Status);
        Assert.StartsWith("text/plain", page.Headers.ContentType.ToString(), StringComparison.Ordinal);
        Assert.Equal("200", page.Headers["X-Crawl-Status"].ToString());
        Assert.Equal(TargetSite.PageText(jobId), Encoding.UTF8.GetString(page.Body));
        // The default store is WARC: an unstored status has no record, so the index has no line for it.
        AssertProblem(missing, 404, "holds no stored body");
    }

    [Fact]
    public async Task GetCrawlPage_WarcPage_IsReadByARangeReadOfItsRecord()
    {
        var jobId = $"warc-{Guid.NewGuid():N}";
        var job = new TestWarc.Job(jobId);
        job.AddPage(0, "https://example.org/a", 200, "<p>first</p>"u8.ToArray());
        job.AddPage(0, "https://example.org/b", 200, "{\"second\":true}"u8.ToArray(), "application/json");
        await job.UploadAsync(app.Container);

        var page = await app.GetPageAsync(jobId, "https://example.org/b");

        Assert.Equal(200, page.Status);
        Assert.Equal("application/json", page.Headers.ContentType.ToString());
        Assert.Equal(15, page.Headers.ContentLength);
        Assert.Equal("{\"second\":true}", Encoding.UTF8.GetString(page.Body));
    }

    [Theory]
    [InlineData("bad..id", "https://example.org/", 400, "job id")]
    [InlineData("some-job", null, 400, "is empty")]
    [InlineData("some-job", "javascript:alert(1)", 400, "scheme")]
    [InlineData("some-job", "https://example.org/", 404, "holds no stored body")]
    public async Task GetCrawlPage_BadOrUnknown_AnswersProblemDetails(string id, string? url, int status, string detail)
    {
        var answer = await app.GetPageAsync(id, url);

        AssertProblem(answer, status, detail);
    }
}
