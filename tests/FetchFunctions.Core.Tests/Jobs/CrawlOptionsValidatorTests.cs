using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class CrawlOptionsValidatorTests
{
    private static (CrawlOptionsValidator Sut, CrawlOptions Crawl, FetchOptions Fetch) CreateSut()
    {
        var fetch = new FetchOptions();
        return (new CrawlOptionsValidator(Options.Create(fetch)), new CrawlOptions(), fetch);
    }

    [Fact]
    public void Validate_FetchOptionsInvalidToo_ReportsTheCrawlProblemsOnly()
    {
        var invalidFetch = new Lazy<FetchOptions>(() => throw new OptionsValidationException("Fetch", typeof(FetchOptions), ["Fetch is broken."]));
        var sut = new CrawlOptionsValidator(new LazyOptions(invalidFetch));

        var result = sut.Validate(null, new CrawlOptions { MaxUrls = 100, MaxInlineUrls = 101 });

        Assert.True(result.Failed);
        Assert.Contains("Crawl:MaxInlineUrls", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Fetch is broken", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BatchSizeZero_LeavesItToDataAnnotationsWithoutThrowing()
    {
        var (sut, crawl, _) = CreateSut();
        crawl.BatchSize = 0;

        Assert.True(sut.Validate(null, crawl).Succeeded);
    }

    [Fact]
    public void Validate_MaxCrawlDelayNotBelowBatchDeadline_Fails()
    {
        var (sut, crawl, _) = CreateSut();
        crawl.MaxCrawlDelay = crawl.BatchDeadline;

        var result = sut.Validate(null, crawl);

        Assert.True(result.Failed);
        Assert.Contains("Crawl:MaxCrawlDelay", result.FailureMessage, StringComparison.Ordinal);
    }

    /// <summary>Options whose value is built (and validated) on first read, as the options factory does.</summary>
    private sealed class LazyOptions(Lazy<FetchOptions> value) : IOptions<FetchOptions>
    {
        public FetchOptions Value => value.Value;
    }

    [Fact]
    public void Validate_MaxPagesUnset_FollowsALoweredMaxUrls()
    {
        var (sut, crawl, _) = CreateSut();
        crawl.BatchesPerShard = 2;
        crawl.MaxUrls = 1000;
        crawl.MaxInlineUrls = 100;

        Assert.True(sut.Validate(null, crawl).Succeeded);
        Assert.Equal(1000, crawl.EffectiveMaxPages);
    }

    [Fact]
    public void Validate_Defaults_Succeed()
    {
        var (sut, crawl, _) = CreateSut();

        Assert.True(sut.Validate(null, crawl).Succeeded);
    }

    private static readonly Dictionary<string, Action<CrawlOptions, FetchOptions>> BrokenRules = new()
    {
        { "Crawl:MaxInlineUrls", (c, _) => { c.MaxUrls = 100; c.MaxInlineUrls = 101; } },
        { "Crawl:MaxRequestBodyBytes", (c, _) => c.MaxRequestBodyBytes = (int)c.MinRequestBodyBytes - 1 },
        { "Crawl:BatchSize", (c, _) => c.BatchSize = c.MaxBatchSize + 1 },
        { "Crawl:MaxConcurrencyPerHost", (c, _) => c.MaxConcurrencyPerHost = c.MaxConcurrency + 1 },
        { "Crawl:MaxUrls", (c, _) => { c.BatchSize = 1; c.BatchesPerShard = 1; } },
        { "Crawl:MaxPages", (c, _) => { c.BatchSize = 1; c.BatchesPerShard = 1; c.MaxUrls = c.MaxInlineUrls = 100; c.MaxPages = 1_000_000; } },
        { "Crawl:AllowedPorts", (c, _) => c.AllowedPorts = [443, 70000] },
        { "Fetch:FetchDeadline", (c, f) => { c.LaneBudget = TimeSpan.Zero; f.FetchDeadline = c.BatchDeadline; } },
        { "Crawl:LaneBudget", (c, f) => c.LaneBudget = c.BatchDeadline - f.FetchDeadline + TimeSpan.FromSeconds(1) },
        { "Crawl:BatchDeadline", (c, _) => c.BatchDeadline = c.FunctionTimeout - TimeSpan.FromSeconds(29) },
        // A folder a job id could name: job "uploads" would own what every job may read.
        { "Crawl:UrlListPrefix", (c, _) => c.UrlListPrefix = "uploads/" },
    };

    public static TheoryData<string> BrokenRuleNames => [.. BrokenRules.Keys];

    [Theory]
    [MemberData(nameof(BrokenRuleNames))]
    public void Validate_BrokenCrossFieldRule_FailsNamingIt(string setting)
    {
        var (sut, crawl, fetch) = CreateSut();
        BrokenRules[setting](crawl, fetch);

        var result = sut.Validate(null, crawl);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith(setting, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BatchDeadlineExactlyMarginBelowFunctionTimeout_Succeeds()
    {
        var (sut, crawl, _) = CreateSut();
        crawl.BatchDeadline = crawl.FunctionTimeout - CrawlOptions.ResultWriteMargin;

        Assert.True(sut.Validate(null, crawl).Succeeded);
    }

    [Theory]
    [InlineData("_uploads")]
    [InlineData("/_uploads/")]
    [InlineData("_uploads/../")]
    [InlineData("job-a/")]
    public void Validate_UnusableUrlListPrefix_FailsNamingIt(string prefix)
    {
        var (sut, crawl, _) = CreateSut();
        crawl.UrlListPrefix = prefix;

        var failure = Assert.Single(sut.Validate(null, crawl).Failures!);

        Assert.StartsWith("Crawl:UrlListPrefix", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("_uploads/")]
    [InlineData("_lists/url-files/")]
    public void Validate_UrlListPrefixNoJobCanName_Succeeds(string prefix)
    {
        var (sut, crawl, _) = CreateSut();
        crawl.UrlListPrefix = prefix;

        Assert.True(sut.Validate(null, crawl).Succeeded);
    }
}
