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

    /// <summary>Name of a text blob in the crawl container with one URL per line (big jobs). It must lie under
    /// Crawl:UrlListPrefix (default <c>_uploads/</c>): a job reads no other blob.</summary>
    public string? UrlListBlob { get; init; }

    public CrawlJobOptions? Options { get; init; }

    /// <summary>How to crawl on from the URLs (the seeds): link discovery. Absent: only the URLs are fetched.</summary>
    public CrawlDiscoveryOptions? Crawl { get; init; }
}

/// <summary>The job's <c>crawl</c> section: which links found on fetched pages (and in sitemaps) are fetched too.
/// Rules: docs/discovery.md.</summary>
public sealed record CrawlDiscoveryOptions
{
    /// <summary>Links followed from a seed: 0 fetches only the seeds (and, with <see cref="FollowSitemaps"/>, their
    /// sitemaps' URLs); absent, nothing is discovered unless sitemaps are followed. At most Crawl:MaxDepth.</summary>
    public int? MaxDepth { get; init; }

    /// <summary>Pages the whole job may fetch, seeds included. Default and upper bound Crawl:MaxPages.</summary>
    public int? MaxPages { get; init; }

    /// <summary><c>"host"</c> (the default: a seed's host), <c>"prefix"</c> (a seed's URL up to its last '/'), or a list of
    /// host names, where <c>*.example.org</c> stands for every subdomain of example.org. A single string or a list.</summary>
    [JsonConverter(typeof(StringOrListConverter))]
    public IReadOnlyList<string>? Scope { get; init; }

    /// <summary>URL globs (<c>*</c> matches any run of characters) a discovered URL must match one of, when given.</summary>
    public IReadOnlyList<string>? Include { get; init; }

    /// <summary>URL globs no discovered URL may match.</summary>
    public IReadOnlyList<string>? Exclude { get; init; }

    /// <summary>Whether the URLs of the seeds' sitemaps (robots.txt <c>Sitemap:</c> lines, else /sitemap.xml) in scope
    /// become seeds. Default false.</summary>
    public bool? FollowSitemaps { get; init; }

    /// <summary>Whether rel="nofollow" links and nofollow pages (meta robots, X-Robots-Tag) are left alone. Default true.</summary>
    public bool? RespectNofollow { get; init; }
}

/// <summary>Reads a JSON string as a one-element list, so a field may be written <c>"host"</c> or <c>["a.org", "b.org"]</c>.</summary>
public sealed class StringOrListConverter : JsonConverter<IReadOnlyList<string>>
{
    public override IReadOnlyList<string>? Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        if (reader.TokenType == System.Text.Json.JsonTokenType.String)
        {
            return [reader.GetString()!];
        }

        if (reader.TokenType != System.Text.Json.JsonTokenType.StartArray)
        {
            throw new System.Text.Json.JsonException("Expected a string or a list of strings.");
        }

        var list = new List<string>();
        while (reader.Read() && reader.TokenType != System.Text.Json.JsonTokenType.EndArray)
        {
            list.Add(reader.TokenType == System.Text.Json.JsonTokenType.String
                ? reader.GetString()!
                : throw new System.Text.Json.JsonException("Expected a string in the list."));
        }

        return list;
    }

    public override void Write(System.Text.Json.Utf8JsonWriter writer, IReadOnlyList<string> value, System.Text.Json.JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartArray();
        foreach (var item in value)
        {
            writer.WriteStringValue(item);
        }

        writer.WriteEndArray();
    }
}

/// <summary>Per-job options. Null means the operator's default; a job may only tighten what the operator allows.</summary>
public sealed record CrawlJobOptions
{
    public int? MaxConcurrency { get; init; }
    public int? MaxConcurrencyPerHost { get; init; }
    public int? PerHostDelayMilliseconds { get; init; }

    /// <summary>Seconds one HTTP attempt may take to produce response headers (Fetch:AttemptTimeout).</summary>
    public int? AttemptTimeoutSeconds { get; init; }

    /// <summary>Seconds for response headers of one hop, all retries included (Fetch:TotalTimeout); not the body.</summary>
    public int? TotalTimeoutSeconds { get; init; }

    /// <summary>Seconds for the whole fetch of one URL: redirects, retries and the body (Fetch:FetchDeadline).</summary>
    public int? FetchDeadlineSeconds { get; init; }

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

    /// <summary>Where bodies are stored: <c>warc</c> (WARC files with a CDXJ index) or <c>blobs</c> (one blob per body);
    /// the operator's Crawl:Store by default.</summary>
    public string? Store { get; init; }
}

/// <summary>The values of the <c>store</c> job option and Crawl:Store.</summary>
public static class StoreKinds
{
    public const string Warc = "warc";
    public const string Blobs = "blobs";
}

/// <summary>A URL list the host reads (one URL per line, '#' comments): <paramref name="Name"/> is the problem path of its
/// lines ("urlsFile:12"); <paramref name="Open"/> must give the same content each time it is called.</summary>
public sealed record HostUrlList(string Name, Func<CancellationToken, Task<Stream>> Open);

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

    /// <summary>As <see cref="SubmitAsync(CrawlJobRequest, CancellationToken)"/>, with URLs the host reads itself (the CLI's
    /// URL file) after the request's inline ones. The list is read twice, to validate and then to store it, and nothing is
    /// uploaded before it is valid: an accepted list becomes the job's own <c>{jobId}/urls.txt</c>, nothing else.</summary>
    Task<SubmitResult> SubmitAsync(CrawlJobRequest request, HostUrlList urlList, CancellationToken cancellationToken);

    /// <summary>Puts the ticket on the intake queue in the message form the queue trigger reads.</summary>
    Task EnqueueAsync(JobTicket ticket, CancellationToken cancellationToken);

    /// <summary>The stored summary of a finished job, or null when there is none (yet).</summary>
    Task<Summary.CrawlSummary?> GetSummaryAsync(string jobId, CancellationToken cancellationToken);
}
