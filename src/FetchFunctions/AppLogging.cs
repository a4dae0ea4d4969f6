using Microsoft.Extensions.Logging;

namespace FetchFunctions;

/// <summary>The worker's own log filters. host.json's <c>logging.logLevel</c> filters only the host's categories;
/// whatever the isolated worker logs is forwarded to the host (and in Azure becomes one Application Insights record
/// per line), so the worker filters before it forwards.</summary>
internal static class AppLogging
{
    public static void Configure(ILoggingBuilder logging)
    {
        ArgumentNullException.ThrowIfNull(logging);

        // Azure.Core's pipeline logs every request and response at Information (with URLs and header names) and every
        // non-2xx response at Warning, including the expected ones: 404 from a DeleteIfExists on a new job, 409 from a
        // CreateIfNotExists on a container that exists. A failure that matters surfaces as a RequestFailedException in
        // the function, which the host logs with its status and error code, so the pipeline's own lines add nothing.
        logging.AddFilter("Azure.Core", LogLevel.Error);

        // The other Azure SDK sources (Azure.Identity, Azure.Storage.*): warnings and errors only.
        logging.AddFilter("Azure", LogLevel.Warning);
    }
}
