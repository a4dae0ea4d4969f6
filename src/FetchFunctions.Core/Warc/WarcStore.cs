using System.Reflection;
using Azure.Storage.Blobs;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Warc;

/// <summary>Opens the WARC writer of one batch, with the files' warcinfo fields.</summary>
internal sealed class WarcStore(BlobServiceClient service, IOptions<StorageOptions> storage, IOptions<CrawlOptions> crawl)
{
    private static readonly string Software = "FetchFunctions/"
        + (typeof(WarcStore).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");

    private readonly BlobContainerClient _container = service.GetBlobContainerClient(storage.Value.ContainerName);

    public WarcBatchWriter Open(StoredJob job, int batchIndex, FetchPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(policy);
        return new WarcBatchWriter(_container, new WarcBatch(job.JobId, job.SubmittedAt, batchIndex, Info(job.JobId, policy.UserAgent, crawl.Value.RespectRobotsTxt)),
            new WarcWriterLimits(crawl.Value.WarcFileBytes));
    }

    internal static IReadOnlyList<KeyValuePair<string, string>> Info(string jobId, string userAgent, bool robots) =>
    [
        new("software", Software),
        new("format", "WARC File Format 1.1"),
        new("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"),
        new("isPartOf", jobId),
        new("http-header-user-agent", userAgent),
        new("robots", robots ? "obey" : "ignore"),
    ];
}
