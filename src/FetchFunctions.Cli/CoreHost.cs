using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Core;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Cli;

/// <summary>Core wired for the command line: configuration from defaults, environment variables (the Functions app's
/// <c>Fetch__X</c> / <c>Crawl__X</c> / <c>Storage__X</c> names) and flags, in that order; options validated before any work.</summary>
internal static class CoreHost
{
    // Log lines go to the given provider (the CLI's error console): stdout is the job's output.
    public static ServiceProvider Build(string connectionString, IReadOnlyDictionary<string, string?> overrides, IEnumerable<KeyValuePair<string, string?>> environment, ILoggerProvider logs)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment)
            .AddInMemoryCollection(overrides)
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddProvider(logs)
            .AddFilter("Azure", LogLevel.Error));
        // Core's storage retry: a wrong connection string fails after a few quick tries, while a storage blip during a
        // run is ridden out for Storage:RetryBudget (the clients are created once the options are validated).
        services.AddSingleton(provider =>
        {
            var options = new BlobClientOptions();
            StorageClientRegistration.ConfigureClientOptions(options, provider);
            return new BlobServiceClient(connectionString, options);
        });
        // The Functions queue extension reads Base64 messages by default; the CLI writes what the HTTP intake writes.
        services.AddSingleton(provider =>
        {
            var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
            StorageClientRegistration.ConfigureClientOptions(options, provider);
            return new QueueServiceClient(connectionString, options);
        });
        services.AddFetchFunctionsCore(configuration);
        var provider = services.BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            // Created now, so that a connection string the SDK cannot parse fails here, as before any work.
            _ = provider.GetRequiredService<BlobServiceClient>();
            _ = provider.GetRequiredService<QueueServiceClient>();
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(inner => inner is OptionsValidationException))
        {
            // More than one section is invalid: report them together as the invalid configuration they are.
            provider.Dispose();
            var failures = ex.InnerExceptions.Cast<OptionsValidationException>().ToList();
            throw new OptionsValidationException(failures[0].OptionsName, failures[0].OptionsType, failures.SelectMany(f => f.Failures));
        }
        catch
        {
            provider.Dispose();
            throw;
        }

        return provider;
    }

    /// <summary>Environment variables in configuration form (<c>Fetch__MaxRetries</c> becomes <c>Fetch:MaxRetries</c>).</summary>
    public static IEnumerable<KeyValuePair<string, string?>> FromEnvironment(IReadOnlyDictionary<string, string?> variables)
    {
        foreach (var (key, value) in variables)
        {
            if ((key.StartsWith("Fetch__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("Crawl__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("Storage__", StringComparison.OrdinalIgnoreCase)))
            {
                yield return new(key.Replace("__", ":", StringComparison.Ordinal), value);
            }
        }
    }
}
