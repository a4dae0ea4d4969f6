using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Jobs;

internal static class CrawlJobsServiceCollectionExtensions
{
    /// <summary>Intake, planning, activities and their options.</summary>
    public static IServiceCollection AddCrawlJobs(this IServiceCollection services, IConfiguration configuration)
    {
        _ = configuration;
        return services;
    }
}
