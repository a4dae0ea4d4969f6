using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Summary;

/// <summary>Writes summary.json from the merged statistics and the results blobs (read line by line, only as far as
/// the failed-URL list needs), and returns an abridged copy small enough for orchestration output.</summary>
internal sealed class SummaryWriter
{
    /// <summary>Failed URLs and hosts listed in the summary the orchestration returns; summary.json lists more.</summary>
    public const int MaxListedInOutput = 20;

    private readonly JobStore _store;
    private readonly IOptions<CrawlOptions> _crawlOptions;
    private readonly JsonTypeInfo<CrawlSummary> _indented;

    public SummaryWriter(JobStore store, IOptions<CrawlOptions> crawlOptions)
    {
        _store = store;
        _crawlOptions = crawlOptions;
        var options = new JsonSerializerOptions(CrawlJsonContext.Default.Options) { WriteIndented = true };
        _indented = (JsonTypeInfo<CrawlSummary>)options.GetTypeInfo(typeof(CrawlSummary));
    }

    public async Task<CrawlSummary> WriteAsync(SummaryWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var totals = work.Totals;
        var listed = (int)Math.Min(_crawlOptions.Value.MaxFailedUrlsInSummary, totals.Failed);
        var failed = await FailedUrlsAsync(work.JobId, totals.Batches, listed, cancellationToken).ConfigureAwait(false);
        var elapsed = work.FinishedAt - work.StartedAt;
        var seconds = elapsed.TotalSeconds;
        var summary = new CrawlSummary
        {
            JobId = work.JobId,
            SummaryBlobName = BlobNames.Summary(work.JobId),
            StartedAt = work.StartedAt,
            FinishedAt = work.FinishedAt,
            Elapsed = elapsed,
            Batches = totals.Batches,
            Total = totals.Urls,
            Succeeded = totals.Succeeded,
            Failed = totals.Failed,
            DuplicatesRemoved = work.DuplicatesRemoved,
            Bytes = totals.Bytes,
            BodiesStored = totals.BodiesStored,
            StoredBytes = totals.StoredBytes,
            Attempts = totals.Attempts,
            SuccessRate = totals.Urls == 0 ? 1 : (double)totals.Succeeded / totals.Urls,
            UrlsPerSecond = seconds > 0 ? totals.Urls / seconds : 0,
            BytesPerSecond = seconds > 0 ? totals.Bytes / seconds : 0,
            Latency = LatencySummary.From(totals.Latency),
            StatusCodes = totals.StatusCodes,
            ErrorKinds = totals.ErrorKinds,
            Outcomes = totals.Outcomes,
            Hosts = totals.Hosts,
            OtherHosts = totals.OtherHosts,
            FailedUrls = failed,
            FailedUrlsNotListed = totals.Failed - failed.Count,
        };
        await _store.UploadAsync(summary.SummaryBlobName, BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(summary, _indented)),
            JobStore.JsonContentType, cancellationToken).ConfigureAwait(false);
        return Abridge(summary, MaxListedInOutput);
    }

    internal static CrawlSummary Abridge(CrawlSummary summary, int maxListed)
    {
        var (hosts, other) = HostStats.Cap(summary.Hosts, maxListed, summary.OtherHosts);
        var failed = summary.FailedUrls.Take(maxListed).ToList();
        return summary with { Hosts = hosts, OtherHosts = other, FailedUrls = failed, FailedUrlsNotListed = summary.Failed - failed.Count };
    }

    /// <summary>The first <paramref name="wanted"/> failed URLs: reading stops as soon as they are found (with no
    /// failures, no results blob is read at all).</summary>
    private async Task<List<FailedUrl>> FailedUrlsAsync(string jobId, int batches, int wanted, CancellationToken cancellationToken)
    {
        var failed = new List<FailedUrl>(wanted);
        for (var batch = 0; batch < batches && failed.Count < wanted; batch++)
        {
            await foreach (var line in _store.ReadLinesAsync(BlobNames.BatchResults(jobId, batch), cancellationToken).ConfigureAwait(false))
            {
                if (line.Length == 0)
                {
                    continue;
                }

                var result = JsonSerializer.Deserialize(line, CrawlJsonContext.Default.UrlResult)
                    ?? throw new InvalidDataException($"A null line in the results of batch {batch}.");
                if (!result.Succeeded)
                {
                    failed.Add(new FailedUrl(result.Url, result.Status, result.ErrorKind?.ToString(), result.Error));
                    if (failed.Count >= wanted)
                    {
                        break;
                    }
                }
            }
        }

        return failed;
    }
}
