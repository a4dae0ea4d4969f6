using FetchFunctions.Core.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FetchFunctions.Cli;

/// <summary>The CLI's OTLP export of Core's spans and metrics, when <c>--otlp-endpoint</c> or
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Disposing it flushes both: after a normal end and after Ctrl+C alike.
/// Dispose it before the job's services, so that the meter is still there for the last collection.</summary>
internal sealed class CliTelemetry : IDisposable
{
    public const string ServiceName = "fetchfn";

    private readonly TracerProvider? _tracing;
    private readonly MeterProvider? _metering;

    private CliTelemetry(TracerProvider? tracing, MeterProvider? metering) => (_tracing, _metering) = (tracing, metering);

    /// <summary>Where to export (null for nowhere), from the option and the environment; a bad value is the user's input error.</summary>
    public static OtlpTarget? Target(IReadOnlyDictionary<string, string?> environment, string? otlpEndpoint)
    {
        try
        {
            return TelemetryExport.ReadOtlp(environment.GetValueOrDefault, otlpEndpoint);
        }
        catch (FormatException ex)
        {
            throw new CliInputException(ex.Message);
        }
    }

    public static CliTelemetry Start(OtlpTarget? target)
    {
        if (target is null)
        {
            return new CliTelemetry(null, null);
        }

        var protocol = target.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        var tracing = Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .AddSource(FetchFunctionsTelemetry.SourceName)
            .AddOtlpExporter(options => (options.Endpoint, options.Protocol) = (target.TracesEndpoint, protocol))
            .Build();
        var metering = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .AddMeter(FetchFunctionsTelemetry.MeterName)
            .AddOtlpExporter(options => (options.Endpoint, options.Protocol) = (target.MetricsEndpoint, protocol))
            .Build();
        return new CliTelemetry(tracing, metering);
    }

    public void Dispose()
    {
        // Disposing a provider exports what it still holds (the batch of spans, a last collection of the metrics).
        _tracing?.Dispose();
        _metering?.Dispose();
    }
}
