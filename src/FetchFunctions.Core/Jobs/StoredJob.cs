namespace FetchFunctions.Core.Jobs;

/// <summary>An accepted job as stored in <c>{jobId}/job.json</c> (the claim-check): small whatever the job's size, because
/// the URLs live in <see cref="UrlListBlobName"/>, normalised and without duplicates, one per line.</summary>
internal sealed record StoredJob(
    string JobId,
    DateTimeOffset SubmittedAt,
    int UrlCount,
    int DuplicatesRemoved,
    string UrlListBlobName,
    JobSettings Settings);

/// <summary>The effective settings of a job: the operator's defaults, tightened where the job asked for less.</summary>
internal sealed record JobSettings
{
    public required int BatchSize { get; init; }
    public required int MaxBatchesInFlight { get; init; }
    public required int MaxConcurrency { get; init; }
    public required int MaxConcurrencyPerHost { get; init; }
    public required TimeSpan PerHostDelay { get; init; }
    public required TimeSpan AttemptTimeout { get; init; }
    public required TimeSpan TotalTimeout { get; init; }

    /// <summary>The whole fetch of one URL. Null in jobs stored before it was a job setting: the operator's applies.</summary>
    public TimeSpan? FetchDeadline { get; init; }

    public required int MaxRetries { get; init; }
    public required long MaxBodyBytes { get; init; }
    public required int MaxRedirects { get; init; }
    public required string UserAgent { get; init; }
    public required IReadOnlyDictionary<string, string> Headers { get; init; }
    public required IReadOnlyList<string> StoreStatuses { get; init; }
    public required IReadOnlyList<string> AllowedNetworks { get; init; }

    /// <summary>Link discovery; null when the job has no <c>crawl</c> section (then it is left out of job.json and of the
    /// plan fingerprint, which stays what it was before discovery existed).</summary>
    public DiscoverySettings? Discovery { get; init; }
    /// <summary><see cref="StoreKinds.Warc"/> or <see cref="StoreKinds.Blobs"/>. Null in jobs stored before it was a setting:
    /// those stored blobs, and keep doing so when resumed.</summary>
    public string? Store { get; init; }

    /// <summary>The store a batch writes to (see <see cref="Store"/>).</summary>
    public string EffectiveStore => Store ?? StoreKinds.Blobs;
}
