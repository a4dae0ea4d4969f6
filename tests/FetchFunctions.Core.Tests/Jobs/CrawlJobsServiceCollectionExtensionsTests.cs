using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class CrawlJobsServiceCollectionExtensionsTests
{
    private static ServiceProvider CreateSut(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        // Clients are only constructed here, never called: no connection is made.
        services.AddSingleton(new BlobServiceClient("UseDevelopmentStorage=true"));
        services.AddSingleton(new QueueServiceClient("UseDevelopmentStorage=true"));
        services.AddFetchFunctionsCore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public void AddFetchFunctionsCore_Defaults_ResolvesHostFacingServicesAndValidatesAtStart()
    {
        using var provider = CreateSut([]);

        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.IsType<CrawlIntake>(provider.GetRequiredService<ICrawlIntake>());
        Assert.IsType<CrawlActivities>(provider.GetRequiredService<ICrawlActivities>());
        Assert.IsType<InProcessCrawlRunner>(provider.GetRequiredService<ICrawlRunner>());
    }

    [Fact]
    public void AddFetchFunctionsCore_BoundSettings_ReachCrawlOptions()
    {
        using var provider = CreateSut(new() { ["Crawl:BatchSize"] = "120", ["Crawl:AllowedPorts:0"] = "443", ["Crawl:PerHostDelay"] = "00:00:00.250" });

        var options = provider.GetRequiredService<IOptions<CrawlOptions>>().Value;

        Assert.Equal(120, options.BatchSize);
        Assert.Equal([443], options.AllowedPorts);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.PerHostDelay);
    }

    [Theory]
    [InlineData("Crawl:BatchDeadline", "00:09:45", "Crawl:BatchDeadline")]
    [InlineData("Crawl:MaxConcurrency", "0", "MaxConcurrency")]
    [InlineData("Fetch:FetchDeadline", "00:08:00", "Fetch:FetchDeadline")]
    [InlineData("Crawl:LaneBudget", "00:06:01", "Crawl:LaneBudget")]
    public void AddFetchFunctionsCore_InvalidCrawlSettings_FailAtStart(string key, string value, string named)
    {
        using var provider = CreateSut(new() { [key] = value });

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }
}
