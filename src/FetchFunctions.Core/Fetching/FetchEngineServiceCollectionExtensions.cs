using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Fetching;

internal static class FetchEngineServiceCollectionExtensions
{
    /// <summary>The fetch engine, its HttpClient, resilience pipeline and options.</summary>
    public static IServiceCollection AddFetchEngine(this IServiceCollection services, IConfiguration configuration)
    {
        _ = configuration;
        return services;
    }
}
