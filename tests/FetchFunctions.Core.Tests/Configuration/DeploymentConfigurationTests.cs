using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Configuration;

/// <summary>The settings the deployment files give the app (local settings sample, Bicep app settings, host.json) name
/// real Core options, keep their defaults where they say so, and pass Core's start-up validation.</summary>
public sealed partial class DeploymentConfigurationTests
{
    private static readonly Dictionary<string, Type> Sections = new(StringComparer.Ordinal)
    {
        [FetchOptions.SectionName] = typeof(FetchOptions),
        [CrawlOptions.SectionName] = typeof(CrawlOptions),
        [StorageOptions.SectionName] = typeof(StorageOptions),
    };

    internal static string RepositoryFile(string relativePath)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Functions.sln")))
            {
                return Path.Combine(directory.FullName, relativePath);
            }
        }

        throw new InvalidOperationException("Functions.sln not found above the test's folder.");
    }

    private static Dictionary<string, string?> SampleCoreSettings()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(RepositoryFile("local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject()
            .Where(p => Sections.Keys.Any(s => p.Name.StartsWith(s + "__", StringComparison.Ordinal)))
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value.GetString(), StringComparer.Ordinal);
    }

    private static void AssertNamesAnOption(string key)
    {
        var parts = key.Split(':');
        Assert.True(Sections.TryGetValue(parts[0], out var type), $"{key}: unknown section");
        Assert.True(type!.GetProperty(parts[1], BindingFlags.Public | BindingFlags.Instance) is { CanWrite: true }, $"{key} names no option of {type.Name}");
    }

    [Fact]
    public void LocalSettingsSample_EveryCoreSetting_NamesAnOption()
    {
        var settings = SampleCoreSettings();

        Assert.NotEmpty(settings);
        foreach (var key in settings.Keys)
        {
            AssertNamesAnOption(key);
        }
    }

    [Fact]
    public void LocalSettingsSample_Values_AreTheDefaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(SampleCoreSettings()).Build();

        foreach (var (section, type) in Sections)
        {
            var bound = configuration.GetSection(section).Get(type) ?? Activator.CreateInstance(type)!;
            Assert.Equal(JsonSerializer.Serialize(Activator.CreateInstance(type), type), JsonSerializer.Serialize(bound, type));
        }
    }

    [Fact]
    public void LocalSettingsSample_PassesStartupValidation()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(SampleCoreSettings()).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new BlobServiceClient("UseDevelopmentStorage=true"));
        services.AddSingleton(new QueueServiceClient("UseDevelopmentStorage=true"));
        services.AddFetchFunctionsCore(configuration);
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void BicepAppSettings_EveryCoreSetting_NamesAnOption()
    {
        var bicep = File.ReadAllText(RepositoryFile("infra/bicep/main.bicep"));

        var keys = BicepCoreSetting().Matches(bicep).Select(m => $"{m.Groups["section"].Value}:{m.Groups["name"].Value}").ToList();

        Assert.Contains("Storage:ContainerName", keys);
        Assert.Contains("Storage:IntakeQueueName", keys);
        foreach (var key in keys)
        {
            AssertNamesAnOption(key);
        }
    }

    [Fact]
    public void HostJson_FunctionTimeout_MatchesCrawlFunctionTimeout()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(RepositoryFile("host.json")));

        var functionTimeout = TimeSpan.Parse(host.RootElement.GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(new CrawlOptions().FunctionTimeout, functionTimeout);
        Assert.Equal("FetchFunctionsHub", host.RootElement.GetProperty("extensions").GetProperty("durableTask").GetProperty("hubName").GetString());
        Assert.Equal("base64", host.RootElement.GetProperty("extensions").GetProperty("queues").GetProperty("messageEncoding").GetString());
    }

    [GeneratedRegex(@"^\s*(?<section>Fetch|Crawl|Storage)__(?<name>\w+)\s*:", RegexOptions.Multiline)]
    private static partial Regex BicepCoreSetting();
}
