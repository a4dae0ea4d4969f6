using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Fetching;

public sealed class FetchOptionsValidatorTests
{
    private static FetchOptionsValidator CreateSut() => new();

    [Fact]
    public void Validate_Defaults_Succeed()
    {
        Assert.True(CreateSut().Validate(null, new FetchOptions()).Succeeded);
    }

    [Fact]
    public void Validate_EveryCrossFieldRuleBroken_ReportsEachOne()
    {
        var options = new FetchOptions
        {
            ConnectTimeout = TimeSpan.FromSeconds(20),
            AttemptTimeout = TimeSpan.FromSeconds(10),
            TotalTimeout = TimeSpan.FromSeconds(5),
            FetchDeadline = TimeSpan.FromSeconds(4),
            BodyIdleTimeout = TimeSpan.FromSeconds(30),
            RetryBaseDelay = TimeSpan.FromSeconds(10),
            MaxRetryDelay = TimeSpan.FromSeconds(1),
            SmallBodyBufferBytes = 4 * 1024 * 1024,
            UploadBlockBytes = 1024 * 1024,
            StoreStatuses = ["2xx"],
            AllowedNetworks = ["10.0.0.0/33"],
            UserAgent = "bad\nagent",
        };

        var result = CreateSut().Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Equal(9, failures.Count);
        Assert.Contains(failures, f => f.Contains("Fetch:AttemptTimeout", StringComparison.Ordinal) && f.Contains("Fetch:TotalTimeout", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Fetch:AllowedNetworks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddFetchFunctionsCore_InvalidConfiguration_FailsWhenOptionsAreFirstUsed()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string?>
        {
            ["Fetch:AttemptTimeout"] = "00:02:00",
            ["Fetch:MaxRetries"] = "99",
        });

        var error = Assert.Throws<OptionsValidationException>(() => host.Provider.GetRequiredService<IOptions<FetchOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains("MaxRetries", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Fetch:AttemptTimeout", StringComparison.Ordinal));
    }
}
