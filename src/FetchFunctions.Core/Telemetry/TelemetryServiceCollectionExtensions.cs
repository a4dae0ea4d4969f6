using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FetchFunctions.Core.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>The meter (through <see cref="System.Diagnostics.Metrics.IMeterFactory"/>, one per container) and the
    /// <c>Telemetry</c> options. Spans need nothing registered: their source is static, as .NET's own are.</summary>
    public static IServiceCollection AddCrawlTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptionsWithValidateOnStart<CrawlTelemetryOptions>()
            .Bind(configuration.GetSection(CrawlTelemetryOptions.SectionName))
            .ValidateDataAnnotations();
        services.AddMetrics();
        services.TryAddSingleton<CrawlTelemetry>();
        return services;
    }
}
