using System.Net;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class CrawlActivitiesTests
{
    private static JobSettings Settings(params string[] allowedNetworks) => new()
    {
        BatchSize = 50, MaxBatchesInFlight = 8, MaxConcurrency = 16, MaxConcurrencyPerHost = 4, PerHostDelay = TimeSpan.Zero,
        AttemptTimeout = TimeSpan.FromSeconds(5), TotalTimeout = TimeSpan.FromSeconds(90), MaxRetries = 1, MaxBodyBytes = 1000, MaxRedirects = 9,
        UserAgent = "JobBot/1", Headers = new Dictionary<string, string> { ["X-Job"] = "1" }, StoreStatuses = ["200", "404"],
        AllowedNetworks = allowedNetworks,
    };

    [Fact]
    public void PolicyFor_JobSettings_TightenOperatorPolicyAndNeverLoosenIt()
    {
        var options = new FetchOptions { TotalTimeout = TimeSpan.FromSeconds(60), MaxRedirects = 3, AllowedNetworks = ["127.0.0.0/8"] };

        var policy = CrawlActivities.PolicyFor(Settings("127.0.0.1/32", "10.0.0.0/8"), options);

        Assert.Equal((1, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), 1000L, 3), (policy.MaxRetries, policy.AttemptTimeout, policy.TotalTimeout,
            policy.MaxBodyBytes, policy.MaxRedirects));
        Assert.Equal("JobBot/1", policy.UserAgent);
        Assert.Equal("1", policy.Headers["X-Job"]);
        Assert.True(policy.StoreStatuses.Contains(404));
        Assert.False(policy.StoreStatuses.Contains(201));
        Assert.Equal([IPNetwork.Parse("127.0.0.1/32")], policy.AddressPolicy.AllowedNetworks);
        Assert.Equal(options.FetchDeadline, policy.FetchDeadline);
    }

    [Fact]
    public void PolicyFor_JobFetchDeadline_TightensTheOperatorsAndNeverLoosensIt()
    {
        var options = new FetchOptions { FetchDeadline = TimeSpan.FromSeconds(60) };

        var tighter = CrawlActivities.PolicyFor(Settings() with { FetchDeadline = TimeSpan.FromSeconds(3) }, options);
        var looser = CrawlActivities.PolicyFor(Settings() with { FetchDeadline = TimeSpan.FromSeconds(90) }, options);
        var storedBeforeIt = CrawlActivities.PolicyFor(Settings() with { FetchDeadline = null }, options);

        Assert.Equal(TimeSpan.FromSeconds(3), tighter.FetchDeadline);
        Assert.Equal(TimeSpan.FromSeconds(60), looser.FetchDeadline);
        Assert.Equal(TimeSpan.FromSeconds(60), storedBeforeIt.FetchDeadline);
    }

    [Fact]
    public void PolicyFor_NoJobNetworks_AllowsNothingSpecial()
    {
        var policy = CrawlActivities.PolicyFor(Settings(), new FetchOptions { AllowedNetworks = ["127.0.0.0/8"] });

        Assert.Empty(policy.AddressPolicy.AllowedNetworks);
        Assert.False(policy.AddressPolicy.IsAllowed(IPAddress.Loopback));
    }
}
