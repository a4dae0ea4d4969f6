using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Jobs;

internal static class CrawlJobsServiceCollectionExtensions
{
    /// <summary>Intake, planning, activities, the in-process runner and their options. Needs the fetch engine's
    /// registrations (Fetch and Storage options, <c>IFetchEngine</c>) and the host's <c>BlobServiceClient</c> and
    /// <c>QueueServiceClient</c>.</summary>
    public static IServiceCollection AddCrawlJobs(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptionsWithValidateOnStart<CrawlOptions>()
            .Bind(configuration.GetSection(CrawlOptions.SectionName))
            .ValidateDataAnnotations();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CrawlOptions>, CrawlOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<JobStore>();
        services.TryAddSingleton<CrawlJobValidator>();
        services.TryAddSingleton<ICrawlIntake, CrawlIntake>();
        services.TryAddSingleton<CrawlPlanner>();
        services.TryAddSingleton<Discovery.Frontier>();
        services.TryAddSingleton<Discovery.SitemapHarvester>();
        services.TryAddSingleton<LaneFetcher>();
        services.TryAddSingleton<LaneActivity>();
        services.TryAddSingleton<JobHosts>();
        services.TryAddSingleton<SummaryWriter>();
        services.TryAddSingleton<WarcStore>();
        services.TryAddSingleton<CdxjIndexMerger>();
        services.TryAddSingleton<ICrawlActivities, CrawlActivities>();
        services.TryAddSingleton<ICrawlRunner, InProcessCrawlRunner>();
        services.TryAddSingleton<IJobRunStore, BlobJobRunStore>();
        services.TryAddSingleton<WaczWriter>();
        services.TryAddSingleton<IStoredPages, StoredPageReader>();
        return services;
    }
}
