using System.Diagnostics;
using System.Diagnostics.Metrics;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using FetchFunctions.Core.Telemetry;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FetchFunctions.Tests;

/// <summary>The worker's export wiring for each setting. Only the OTLP case exports (to a receiver on 127.0.0.1); the Azure
/// Monitor exporter is checked by its registered options and never built, as it would reach out to Azure.</summary>
public sealed class AppTelemetryTests
{
    private static (ServiceCollection Services, TelemetryExport Export) CreateSut(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        return (services, AppTelemetry.Configure(services, configuration));
    }

    [Fact]
    public void Configure_NothingSet_NoOpenTelemetryRegistered()
    {
        var (services, export) = CreateSut([]);
        using var provider = services.BuildServiceProvider();

        Assert.False(export.Any);
        Assert.Null(provider.GetService<TracerProvider>());
        Assert.Null(provider.GetService<MeterProvider>());
    }

    [Fact]
    public async Task Configure_OtlpEndpoint_CoreSpansAndMetricsReachTheEndpoint()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var (services, export) = CreateSut(new() { [TelemetryExport.OtlpEndpointName] = receiver.Endpoint.AbsoluteUri });
        Assert.Null(export.AzureMonitorConnectionString);
        var spanName = $"span-{Guid.NewGuid():N}";
        var counterName = $"counter_{Guid.NewGuid():N}";

        using (var provider = services.BuildServiceProvider())
        {
            _ = provider.GetRequiredService<TracerProvider>();
            _ = provider.GetRequiredService<MeterProvider>();
            // Core's names: what Core emits under them is exported.
            using var source = new ActivitySource(FetchFunctionsTelemetry.SourceName);
            using var meter = new Meter(FetchFunctionsTelemetry.MeterName);
            source.StartActivity(spanName)?.Dispose();
            meter.CreateCounter<long>(counterName).Add(3);
            // Disposing the providers flushes them.
            provider.GetRequiredService<TracerProvider>().ForceFlush();
            provider.GetRequiredService<MeterProvider>().ForceFlush();
        }

        Assert.True(receiver.Received(OtlpReceiver.Traces, spanName));
        Assert.True(receiver.Received(OtlpReceiver.Metrics, counterName));
    }

    [Fact]
    public void Configure_ConnectionStringWithAadAuthentication_AzureMonitorWithTheUserAssignedIdentity()
    {
        // An ingestion endpoint on loopback, in case anything were sent; the exporter is not even built.
        const string connectionString = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/";
        var (services, export) = CreateSut(new()
        {
            [TelemetryExport.AzureMonitorConnectionStringName] = connectionString,
            [TelemetryExport.AzureMonitorAuthenticationName] = "Authorization=AAD;ClientId=11111111-1111-1111-1111-111111111111",
        });
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<AzureMonitorExporterOptions>>().Get(Options.DefaultName);
        Assert.Equal(connectionString, options.ConnectionString);
        Assert.IsType<ManagedIdentityCredential>(options.Credential);
        Assert.Equal(new ManagedIdentity("11111111-1111-1111-1111-111111111111"), export.AzureMonitorIdentity);
        Assert.Null(export.Otlp);
    }

    [Fact]
    public async Task Configure_BothSet_AzureMonitorAndOtlpTogether()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        const string connectionString = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/";
        var (services, export) = CreateSut(new()
        {
            [TelemetryExport.AzureMonitorConnectionStringName] = connectionString,
            ["AzureWebJobsStorage__credential"] = "managedidentity",
            ["AzureWebJobsStorage__clientId"] = "22222222-2222-2222-2222-222222222222",
            [TelemetryExport.OtlpEndpointName] = receiver.Endpoint.AbsoluteUri,
        });
        using var provider = services.BuildServiceProvider();

        Assert.Equal(new ManagedIdentity("22222222-2222-2222-2222-222222222222"), export.AzureMonitorIdentity);
        Assert.Equal(new Uri(receiver.Endpoint, "v1/traces"), export.Otlp!.TracesEndpoint);
        var options = provider.GetRequiredService<IOptionsMonitor<AzureMonitorExporterOptions>>().Get(Options.DefaultName);
        Assert.Equal(connectionString, options.ConnectionString);
        Assert.IsType<ManagedIdentityCredential>(options.Credential);
    }
}
