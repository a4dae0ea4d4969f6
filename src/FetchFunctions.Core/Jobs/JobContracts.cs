using System.Text.Json.Serialization;

namespace FetchFunctions.Core.Jobs;

/// <summary>A crawl job as a user submits it (HTTP body, CLI job file). Everything is optional so that
/// validation, not deserialisation, reports what is missing.</summary>
public sealed record CrawlJobRequest
{
    /// <summary>Idempotency key; generated when absent.</summary>
    public string? JobId { get; init; }

    /// <summary>Inline URLs (small jobs).</summary>
    public IReadOnlyList<string>? Urls { get; init; }

    /// <summary>Name of a text blob in the crawl container with one URL per line (big jobs).</summary>
    public string? UrlListBlob { get; init; }

    public CrawlJobOptions? Options { get; init; }
}

/// <summary>Per-job options. Null means the operator's default; a job may only tighten what the operator allows.</summary>
public sealed record CrawlJobOptions
{
    public int? MaxConcurrency { get; init; }
    public int? MaxConcurrencyPerHost { get; init; }
    public int? PerHostDelayMilliseconds { get; init; }
    public int? AttemptTimeoutSeconds { get; init; }
    public int? TotalTimeoutSeconds { get; init; }
    public int? MaxRetries { get; init; }
    public long? MaxBodyBytes { get; init; }
    public string? UserAgent { get; init; }
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Statuses whose bodies are stored, as codes or ranges ("200-299", "404").</summary>
    public IReadOnlyList<string>? StoreStatuses { get; init; }

    public int? MaxRedirects { get; init; }

    /// <summary>CIDR ranges the SSRF guard lets through; must lie within the operator's allow-list.</summary>
    public IReadOnlyList<string>? AllowedNetworks { get; init; }

    public int? BatchSize { get; init; }
    public int? MaxBatchesInFlight { get; init; }
}

/// <summary>One problem found by validation: where, what, why.</summary>
public sealed record ValidationProblem(string Path, string? Value, string Reason);

/// <summary>The claim-check reference that travels through the intake queue and into the orchestration:
/// the job itself lives in <see cref="JobBlobName"/>.</summary>
public sealed record JobTicket(string JobId, string JobBlobName)
{
    /// <summary>The queue message text (JSON), identical from the HTTP intake and the CLI.</summary>
    public string ToMessage() => System.Text.Json.JsonSerializer.Serialize(this, CoreJsonContext.Default.JobTicket);

    public static JobTicket? TryParse(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            var ticket = System.Text.Json.JsonSerializer.Deserialize(message, CoreJsonContext.Default.JobTicket);
            return ticket is { JobId.Length: > 0, JobBlobName.Length: > 0 } ? ticket : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

/// <summary>The outcome of submitting a job: a ticket, or every problem found.</summary>
public sealed record SubmitResult(JobTicket? Ticket, IReadOnlyList<ValidationProblem> Problems, int UrlCount, int DuplicatesRemoved)
{
    [JsonIgnore]
    public bool Accepted => Ticket is not null;
}

/// <summary>Intake: validation, claim-check storage and the intake queue. Used by the HTTP trigger and the CLI.</summary>
public interface ICrawlIntake
{
    /// <summary>Reads a job from a request body of at most <c>Crawl:MaxRequestBodyBytes</c>: a <paramref name="declaredLength"/>
    /// over the limit is refused without reading, an undeclared (chunked) body at the first byte past it.</summary>
    Task<CrawlRequestRead> ReadRequestAsync(Stream body, long? declaredLength, CancellationToken cancellationToken);

    /// <summary>Validates the job and, when valid, stores it as <c>{jobId}/job.json</c>. Idempotent per job id.</summary>
    Task<SubmitResult> SubmitAsync(CrawlJobRequest request, CancellationToken cancellationToken);

    /// <summary>Stores a URL list (one per line) for a job to reference as <see cref="CrawlJobRequest.UrlListBlob"/>, the way a
    /// job too big for one request is submitted. Returns the blob name.</summary>
    Task<string> UploadUrlListAsync(IEnumerable<string> urls, CancellationToken cancellationToken);

    /// <summary>Puts the ticket on the intake queue in the message form the queue trigger reads.</summary>
    Task EnqueueAsync(JobTicket ticket, CancellationToken cancellationToken);

    /// <summary>The stored summary of a finished job, or null when there is none (yet).</summary>
    Task<Summary.CrawlSummary?> GetSummaryAsync(string jobId, CancellationToken cancellationToken);
}
