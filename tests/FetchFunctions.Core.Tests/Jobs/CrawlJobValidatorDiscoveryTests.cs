using System.Text.Json;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class CrawlJobValidatorDiscoveryTests
{
    private static CrawlJobValidator CreateSut(Action<CrawlOptions>? crawl = null)
    {
        var crawlOptions = new CrawlOptions();
        crawl?.Invoke(crawlOptions);
        return new CrawlJobValidator(Options.Create(crawlOptions), Options.Create(new FetchOptions()));
    }

    private static Task<JobValidation> ValidateAsync(CrawlJobValidator sut, CrawlDiscoveryOptions? crawl, params string[] urls) =>
        sut.ValidateAsync(new CrawlJobRequest { Urls = urls.Length == 0 ? ["https://example.org/a/b"] : urls, Crawl = crawl },
            (_, _) => Task.FromResult<IUrlSource?>(null), CancellationToken.None);

    [Fact]
    public async Task ValidateAsync_NoCrawlSection_HasNoDiscovery()
    {
        var result = await ValidateAsync(CreateSut(), null);

        Assert.True(result.IsValid);
        Assert.Null(result.Settings.Discovery);
    }

    [Fact]
    public async Task ValidateAsync_DepthOnly_TakesTheDefaults()
    {
        var result = await ValidateAsync(CreateSut(c => c.MaxPages = 500), new CrawlDiscoveryOptions { MaxDepth = 2 });

        Assert.Empty(result.Problems);
        var discovery = Assert.IsType<DiscoverySettings>(result.Settings.Discovery);
        Assert.Equal((2, 500, ScopeKind.Host, false, true), (discovery.MaxDepth, discovery.MaxPages, discovery.Scope, discovery.FollowSitemaps, discovery.RespectNofollow));
        Assert.Empty(discovery.Include);
    }

    [Fact]
    public async Task ValidateAsync_SitemapsWithoutDepth_DiscoversSeedsOnly()
    {
        var result = await ValidateAsync(CreateSut(), new CrawlDiscoveryOptions { FollowSitemaps = true });

        Assert.Empty(result.Problems);
        Assert.Equal(0, result.Settings.Discovery?.MaxDepth);
    }

    [Fact]
    public async Task ValidateAsync_ScopeWithoutDepth_IsAProblem()
    {
        var result = await ValidateAsync(CreateSut(), new CrawlDiscoveryOptions { Scope = ["prefix"] });

        Assert.Equal("crawl.maxDepth", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public async Task ValidateAsync_OverTheOperatorsLimits_ListsEveryProblem()
    {
        var crawl = new CrawlDiscoveryOptions
        {
            MaxDepth = 4, MaxPages = 0, Scope = ["example.org", "*.", "host"], Include = ["ok/*", "has space"],
            Exclude = [.. Enumerable.Repeat("x", CrawlJobValidator.MaxUrlPatterns + 1)],
        };

        var result = await ValidateAsync(CreateSut(c => c.MaxDepth = 3), crawl);

        Assert.Equal(["crawl.maxDepth", "crawl.maxPages", "crawl.scope[1]", "crawl.scope[2]", "crawl.include[1]", "crawl.exclude"],
            result.Problems.Select(p => p.Path));
    }

    [Fact]
    public async Task ValidateAsync_MoreSeedsThanMaxPages_IsAProblem()
    {
        var result = await ValidateAsync(CreateSut(), new CrawlDiscoveryOptions { MaxDepth = 1, MaxPages = 1 },
            "https://example.org/1", "https://example.org/2");

        var problem = Assert.Single(result.Problems);
        Assert.Equal("crawl.maxPages", problem.Path);
        Assert.Contains("2 URLs", problem.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Example.ORG", "example.org")]
    [InlineData("*.Example.org", "*.example.org")]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("127.0.0.2", "127.0.0.2")]
    [InlineData("[::1]", "[::1]")]
    [InlineData("::1", "[::1]")]
    public async Task ValidateAsync_ScopeHosts_AreNormalisedAsUrlsCarryThem(string entry, string expected)
    {
        var result = await ValidateAsync(CreateSut(), new CrawlDiscoveryOptions { MaxDepth = 1, Scope = [entry] });

        Assert.Empty(result.Problems);
        Assert.Equal(ScopeKind.Hosts, result.Settings.Discovery?.Scope);
        Assert.Equal([expected], result.Settings.Discovery?.ScopeHosts);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("a*.example.org")]
    [InlineData("*.127.0.0.1")]
    [InlineData("exa mple.org")]
    [InlineData("")]
    public async Task ValidateAsync_BadScopeHost_IsAProblem(string entry)
    {
        var result = await ValidateAsync(CreateSut(), new CrawlDiscoveryOptions { MaxDepth = 1, Scope = [entry, "example.org"] });

        Assert.Equal("crawl.scope[0]", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public void Request_ScopeAsStringOrList_Deserialises()
    {
        var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);

        var single = JsonSerializer.Deserialize<CrawlJobRequest>("""{"crawl":{"maxDepth":1,"scope":"prefix"}}""", web);
        var list = JsonSerializer.Deserialize<CrawlJobRequest>("""{"crawl":{"scope":["a.org","*.b.org"]}}""", web);

        Assert.Equal(["prefix"], single?.Crawl?.Scope);
        Assert.Equal(["a.org", "*.b.org"], list?.Crawl?.Scope);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<CrawlJobRequest>("""{"crawl":{"scope":3}}""", web));
    }

    [Fact]
    public async Task PlanFingerprint_DiscoverySettings_AreCoveredAndAbsentOnesChangeNothing()
    {
        var sut = CreateSut();
        var plain = (await ValidateAsync(sut, null)).Settings;
        var depth1 = (await ValidateAsync(sut, new CrawlDiscoveryOptions { MaxDepth = 1 })).Settings;
        var depth2 = (await ValidateAsync(sut, new CrawlDiscoveryOptions { MaxDepth = 2 })).Settings;
        var withoutSection = Fingerprint(plain);

        Assert.Equal(Fingerprint(plain with { Discovery = null }), withoutSection);
        Assert.DoesNotContain("discovery", JsonSerializer.Serialize(plain, CrawlJsonContext.Default.JobSettings), StringComparison.Ordinal);
        Assert.NotEqual(withoutSection, Fingerprint(depth1));
        Assert.NotEqual(Fingerprint(depth1), Fingerprint(depth2));
    }

    private static string Fingerprint(JobSettings settings)
    {
        using var fingerprint = new PlanFingerprint(settings, batchesPerShard: 10, hostsPerLane: 1, partitions: 1);
        fingerprint.AddUrl("https://example.org/a/b");
        return fingerprint.Finish();
    }
}
