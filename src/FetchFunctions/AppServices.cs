using FetchFunctions.Core;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions;

/// <summary>The app's services, in one place for Program.cs and the app's tests.</summary>
internal static class AppServices
{
    public static void Configure(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        // The queue trigger and output bindings use a constant queue name; fail at start if configuration disagrees.
        IntakeQueue.EnsureConfigurationMatches(configuration);

        // Blob and queue clients from the same AzureWebJobsStorage connection the host uses.
        services.AddFetchFunctionsStorage(configuration);

        services.AddFetchFunctionsCore(configuration);
    }
}
