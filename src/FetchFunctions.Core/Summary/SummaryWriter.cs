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

    public Task<CrawlSummary> WriteAsync(SummaryWork work, CancellationToken cancellationToken) => WriteAsync(work, null, cancellationToken);

    /// <param name="work">The job's merged statistics.</param>
    /// <param name="discovery">What link discovery found, when the job discovers links.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    public async Task<CrawlSummary> WriteAsync(SummaryWork work, Discovery.DiscoverySummary? discovery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var totals = work.Totals;
        var listed = (int)Math.Min(_crawlOptions.Value.MaxFailedUrlsInSummary, totals.Failed);
        var failed = await FailedUrlsAsync(work.JobId, listed, cancellationToken).ConfigureAwait(false);
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
            PagesByDepth = totals.Depths.Count == 0 ? System.Collections.ObjectModel.ReadOnlyDictionary<int, long>.Empty : totals.Depths,
            Discovery = discovery,
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
    private async Task<List<FailedUrl>> FailedUrlsAsync(string jobId, int wanted, CancellationToken cancellationToken)
    {
        var failed = new List<FailedUrl>(wanted);
        if (wanted == 0)
        {
            return failed;
        }

        // Listed in name order, which is batch order: with rounds of discovery, batch numbers have gaps between rounds.
        var prefix = BlobNames.BatchResultsPrefix(jobId);
        await foreach (var item in _store.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }, cancellationToken)
            .ConfigureAwait(false))
        {
            if (BlobNames.BatchIndexOf(item.Name, prefix) is null)
            {
                continue;
            }

            await foreach (var line in _store.ReadLinesAsync(item.Name, cancellationToken).ConfigureAwait(false))
            {
                if (line.Length == 0)
                {
                    continue;
                }

                var result = JsonSerializer.Deserialize(line, CrawlJsonContext.Default.UrlResult)
                    ?? throw new InvalidDataException($"A null line in '{item.Name}'.");
                if (!result.Succeeded)
                {
                    failed.Add(new FailedUrl(result.Url, result.Status, result.ErrorKind?.ToString(), result.Error));
                    if (failed.Count >= wanted)
                    {
                        return failed;
                    }
                }
            }
        }

        return failed;
    }
}
