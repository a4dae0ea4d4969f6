using System.Globalization;
using Azure;
using Azure.Storage.Queues;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Jobs;

/// <summary>Validates jobs, stores accepted ones as a claim-check (<c>{jobId}/urls.txt</c> with the normalised URLs, then
/// <c>{jobId}/job.json</c>) and puts tickets on the intake queue.</summary>
internal sealed partial class CrawlIntake(
    CrawlJobValidator validator,
    JobStore store,
    QueueServiceClient queues,
    IOptions<StorageOptions> storageOptions,
    IOptions<CrawlOptions> crawlOptions,
    TimeProvider timeProvider,
    ILogger<CrawlIntake> logger) : ICrawlIntake
{
    public Task<CrawlRequestRead> ReadRequestAsync(Stream body, long? declaredLength, CancellationToken cancellationToken) =>
        CrawlRequestReader.ReadAsync(body, declaredLength, crawlOptions.Value.MaxRequestBodyBytes, cancellationToken);

    /// <summary>Validates the job (reading a URL list blob once, line by line) and, when it is valid, reads the URLs
    /// once more to store them normalised and de-duplicated. Nothing is stored for an invalid job. A job id given
    /// again replaces the blobs stored under it.</summary>
    public Task<SubmitResult> SubmitAsync(CrawlJobRequest request, CancellationToken cancellationToken) =>
        SubmitAsync(request, hostUrlList: null, cancellationToken);

    public Task<SubmitResult> SubmitAsync(CrawlJobRequest request, HostUrlList urlList, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(urlList);
        // A finite list of at most MaxUrls URLs has no reason for more than a few lines per URL (blanks, comments).
        var crawl = crawlOptions.Value;
        var maxLines = (int)Math.Min(int.MaxValue, 4L * crawl.MaxUrls + 1000);
        return SubmitAsync(request, new TextUrlSource(urlList.Open, crawl.MaxUrlLength, urlList.Name, maxLines), cancellationToken);
    }

    private async Task<SubmitResult> SubmitAsync(CrawlJobRequest request, IUrlSource? hostUrlList, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var maxUrlLength = crawlOptions.Value.MaxUrlLength;
        var validation = await validator.ValidateAsync(request,
            (name, token) => store.OpenUrlListAsync(name, maxUrlLength, token), cancellationToken, hostUrlList).ConfigureAwait(false);
        var scan = validation.Scan;
        if (!validation.IsValid || validation.Urls is null || scan is null)
        {
            LogRejected(logger, validation.Problems.Count);
            return new SubmitResult(null, validation.Problems, scan?.UniqueUrls ?? 0, scan?.DuplicatesRemoved ?? 0);
        }

        var jobId = request.JobId ?? NewJobId();
        await store.EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var urlList = BlobNames.UrlList(jobId);
        try
        {
            await StoreUrlsAsync(validation.Urls, urlList, scan, maxUrlLength, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 412 && request.UrlListBlob is not null)
        {
            // The URL list changed between validation and storage: what was validated is gone.
            return new SubmitResult(null, [new ValidationProblem("urlListBlob", request.UrlListBlob,
                "changed while the job was being accepted; submit the job again.")], scan.UniqueUrls, scan.DuplicatesRemoved);
        }

        var job = new StoredJob(jobId, timeProvider.GetUtcNow(), scan.UniqueUrls, scan.DuplicatesRemoved, urlList, validation.Settings);
        var ticket = new JobTicket(jobId, BlobNames.Job(jobId));
        await store.WriteJsonAsync(ticket.JobBlobName, job, CrawlJsonContext.Default.StoredJob, cancellationToken).ConfigureAwait(false);
        LogAccepted(logger, jobId, scan.UniqueUrls, scan.DuplicatesRemoved);
        return new SubmitResult(ticket, [], scan.UniqueUrls, scan.DuplicatesRemoved);
    }

    /// <summary>Sends <see cref="JobTicket.ToMessage"/> as the message text. The Functions queue trigger reads Base64
    /// bodies, and the client encodes as its options say: the host must create the <see cref="QueueServiceClient"/>
    /// with <c>QueueClientOptions.MessageEncoding = QueueMessageEncoding.Base64</c> (the Functions app and the CLI do).</summary>
    public async Task EnqueueAsync(JobTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var queue = queues.GetQueueClient(storageOptions.Value.IntakeQueueName);
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await queue.SendMessageAsync(ticket.ToMessage(), cancellationToken).ConfigureAwait(false);
        LogEnqueued(logger, ticket.JobId, queue.Name);
    }

    public async Task<CrawlSummary?> GetSummaryAsync(string jobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return CrawlJobValidator.IsValidJobId(jobId)
            ? await store.ReadJsonAsync(BlobNames.Summary(jobId), CrawlJsonContext.Default.CrawlSummary, cancellationToken).ConfigureAwait(false)
            : null;
    }

    private async Task StoreUrlsAsync(IUrlSource source, string blobName, UrlScan scan, int maxUrlLength, CancellationToken cancellationToken)
    {
        var allowedPorts = crawlOptions.Value.AllowedPorts;
        var expected = scan.UniqueUrls;
        // The scan's table, emptied: at 10,000,000 URLs a second one would be another 256 MiB.
        var seen = scan.Fingerprints ?? new UrlFingerprintSet(expected);
        seen.Clear();
        using var writer = store.CreateTextWriter(blobName);
        await foreach (var entry in source.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (UrlNormaliser.TryNormalise(entry.Text, maxUrlLength, allowedPorts, out var normalised) is null
                && seen.Add(CrawlJobValidator.Fingerprint(normalised)))
            {
                await writer.WriteLineAsync(normalised, cancellationToken).ConfigureAwait(false);
            }
        }

        if (writer.Lines != expected)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The URLs read a second time differ from the validated ones ({writer.Lines} instead of {expected})."));
        }

        await writer.CommitAsync(JobStore.TextContentType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sortable by submission time, unique by a random part.</summary>
    private string NewJobId() =>
        string.Create(CultureInfo.InvariantCulture, $"{timeProvider.GetUtcNow():yyyyMMdd-HHmmss}-{Guid.NewGuid():N}");

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl job {JobId} accepted: {UrlCount} URLs, {DuplicatesRemoved} duplicates removed")]
    private static partial void LogAccepted(ILogger logger, string jobId, int urlCount, int duplicatesRemoved);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl job rejected with {ProblemCount} problems")]
    private static partial void LogRejected(ILogger logger, int problemCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Crawl job {JobId} enqueued on {Queue}")]
    private static partial void LogEnqueued(ILogger logger, string jobId, string queue);
}
