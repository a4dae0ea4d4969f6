using FetchFunctions.Cli.Tests.Infrastructure;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Cli.Tests;

public sealed class JobInputDiscoveryTests
{
    private static Task<(CrawlJobRequest Request, HostUrlList? UrlList)> CreateSut(JobFlags flags) =>
        JobInput.BuildAsync(flags with { Urls = ["https://example.org/"] }, CancellationToken.None);

    [Fact]
    public async Task BuildAsync_NoDiscoveryFlags_LeavesTheCrawlSectionOut()
    {
        var (request, _) = await CreateSut(new JobFlags());

        Assert.Null(request.Crawl);
    }

    [Fact]
    public async Task BuildAsync_DiscoveryFlags_MakeTheCrawlSection()
    {
        var (request, _) = await CreateSut(new JobFlags
        {
            Depth = 2, MaxPages = 1000, Scope = ["host"], Include = ["*/docs/*"], Exclude = ["*?print=*"], Sitemaps = true, NoRespectNofollow = true,
        });

        Assert.Equal(new CrawlDiscoveryOptions
        {
            MaxDepth = 2, MaxPages = 1000, Scope = request.Crawl!.Scope, Include = request.Crawl.Include, Exclude = request.Crawl.Exclude,
            FollowSitemaps = true, RespectNofollow = false,
        }, request.Crawl);
        Assert.Equal(["host"], request.Crawl.Scope);
        Assert.Equal(["*/docs/*"], request.Crawl.Include);
        Assert.Equal(["*?print=*"], request.Crawl.Exclude);
    }

    [Fact]
    public async Task BuildAsync_FlagsOverAJobFile_OverrideOnlyWhatTheySet()
    {
        var file = new FileInfo(Path.Combine(Path.GetTempPath(), $"job-{Guid.NewGuid():N}.json"));
        await File.WriteAllTextAsync(file.FullName, """{"crawl":{"maxDepth":1,"scope":["a.example","*.b.example"],"maxPages":50}}""");
        try
        {
            var (request, _) = await CreateSut(new JobFlags { JobFile = file, Depth = 3 });

            Assert.Equal((3, 50), (request.Crawl?.MaxDepth, request.Crawl?.MaxPages));
            Assert.Equal(["a.example", "*.b.example"], request.Crawl?.Scope);
        }
        finally
        {
            file.Delete();
        }
    }

    [Fact]
    public async Task Help_DiscoveryOptions_ShowTheOperatorsLimits()
    {
        var output = new StringWriter();
        var app = new CliApp(TestConsoles.Create(output), TestConsoles.Create(new StringWriter()),
            new Dictionary<string, string?> { ["Crawl__MaxDepth"] = "5" });

        var exitCode = await app.RunAsync(["crawl", "--help"], CancellationToken.None);

        Assert.Equal(ExitCodes.Success, exitCode);
        var help = output.ToString();
        Assert.Contains("at most 5 (Crawl:MaxDepth)", help, StringComparison.Ordinal);
        Assert.Contains("default: 10000000 (Crawl:MaxPages)", help, StringComparison.Ordinal);
        Assert.Contains("--no-respect-nofollow", help, StringComparison.Ordinal);
        Assert.Contains("--sitemaps", help, StringComparison.Ordinal);
    }
}
