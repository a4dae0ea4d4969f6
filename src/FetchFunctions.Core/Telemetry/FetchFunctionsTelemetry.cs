namespace FetchFunctions.Core.Telemetry;

/// <summary>The names hosts subscribe to: one <see cref="System.Diagnostics.ActivitySource"/> for spans (job, plan, batch,
/// summary, fetch) and one <see cref="System.Diagnostics.Metrics.Meter"/> for metrics, both named <see cref="SourceName"/>.</summary>
public static class FetchFunctionsTelemetry
{
    /// <summary>The activity source's name (<c>TracerProviderBuilder.AddSource</c>).</summary>
    public const string SourceName = "FetchFunctions";

    /// <summary>The meter's name (<c>MeterProviderBuilder.AddMeter</c>).</summary>
    public const string MeterName = "FetchFunctions";
}
