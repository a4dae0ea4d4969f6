using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using FetchFunctions.Core.Telemetry;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FetchFunctions;

/// <summary>The worker's OpenTelemetry export, in one place for Program.cs and the app's tests: Core's spans and metrics
/// (and the Durable worker's spans) to Azure Monitor when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set, to OTLP
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is, to both when both are, and no OpenTelemetry at all otherwise. The host's
/// own telemetry (host.json <c>telemetryMode</c>) and the Durable distributed tracing it does are configured in host.json.</summary>
internal static class AppTelemetry
{
    /// <summary>The Durable Task worker's activity source.</summary>
    public const string DurableTaskSource = "Microsoft.DurableTask";

    public static TelemetryExport Configure(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var export = TelemetryExport.Read(name => configuration[name]);
        if (!export.Any)
        {
            return export;
        }

        var telemetry = services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithTracing(tracing => tracing.AddSource(FetchFunctionsTelemetry.SourceName, DurableTaskSource))
            .WithMetrics(metrics => metrics.AddMeter(FetchFunctionsTelemetry.MeterName));
        if (export.AzureMonitorConnectionString is { } connectionString)
        {
            // Application Insights with local auth off takes Entra ID tokens only: the app's managed identity.
            var credential = Credential(export.AzureMonitorIdentity);
            telemetry.UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = connectionString;
                options.Credential = credential;
            });
        }

        if (export.Otlp is { } otlp)
        {
            var protocol = otlp.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
            telemetry
                .WithTracing(tracing => tracing.AddOtlpExporter(options => (options.Endpoint, options.Protocol) = (otlp.TracesEndpoint, protocol)))
                .WithMetrics(metrics => metrics.AddOtlpExporter(options => (options.Endpoint, options.Protocol) = (otlp.MetricsEndpoint, protocol)));
        }

        return export;
    }

    internal static TokenCredential? Credential(ManagedIdentity? identity) => identity switch
    {
        null => null,
        { ClientId: { } clientId } => new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId)),
        _ => new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned),
    };
}
