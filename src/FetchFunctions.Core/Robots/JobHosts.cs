using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Robots;

/// <summary>Finds, for each origin a batch meets, what it obeys: the job's host blob if one exists, else robots.txt
/// fetched now through the engine (SSRF guard, redirects re-checked, at most 500 KiB read) and kept as the job's host
/// blob, created only if absent so every batch and retry of the job uses the first outcome. One read and at most one
/// write per origin per lane call, and one more write at the end of a call that changed the origin's back-off.</summary>
internal sealed partial class JobHosts(IFetchEngine engine, JobStore store, IOptions<CrawlOptions> crawlOptions, ILogger<JobHosts> logger)
{
    /// <summary>RFC 9309 2.3.1.2: follow at least five redirects.</summary>
    public const int RobotsRedirects = 5;

    private static readonly StatusSet SuccessOnly = StatusSet.Parse(["200-299"]);

    public static string BlobName(string jobId, string origin) =>
        $"{jobId}/hosts/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(origin)))}.json";

    /// <summary>The origins of one lane call of <paramref name="jobId"/>, fetched under <paramref name="policy"/>.</summary>
    public BatchHosts Open(string jobId, FetchPolicy policy, int baseConcurrency) => new(this, jobId, policy, baseConcurrency, crawlOptions.Value);

    private async Task<(HostRecord Record, ETag ETag, bool FetchedNow)> LoadAsync(string jobId, string origin, FetchPolicy policy, bool respect,
        CancellationToken cancellationToken)
    {
        var blob = store.Container.GetBlobClient(BlobName(jobId, origin));
        var existing = await ReadAsync(blob, cancellationToken).ConfigureAwait(false);
        if (existing is { } found && (found.Record.Robots != RobotsOutcome.NotRead || !respect))
        {
            return (found.Record, found.ETag, false);
        }

        var record = respect
            ? await FetchRobotsAsync(origin, policy, cancellationToken).ConfigureAwait(false)
            : new HostRecord(origin, RobotsOutcome.NotRead, null, null, [], null, HostBackoff.None);
        if (existing is { } notRead)
        {
            record = record with { Backoff = notRead.Record.Backoff };
        }

        var conditions = existing is { } old ? new BlobRequestConditions { IfMatch = old.ETag } : new BlobRequestConditions { IfNoneMatch = ETag.All };
        try
        {
            var written = await blob.UploadAsync(Serialise(record), new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = JobStore.JsonContentType },
                Conditions = conditions,
            }, cancellationToken).ConfigureAwait(false);
            LogRobots(logger, jobId, origin, record.Robots);
            return (record, written.Value.ETag, respect);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Another batch created it first: its outcome is the job's.
            var theirs = await ReadAsync(blob, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Host blob of {origin} vanished after a conflicting write.", ex);
            return (theirs.Record, theirs.ETag, respect);
        }
    }

    private async Task<HostRecord> FetchRobotsAsync(string origin, FetchPolicy policy, CancellationToken cancellationToken)
    {
        var sink = new RobotsBodySink();
        var robotsPolicy = policy with
        {
            // The sink stops at 500 KiB; a bigger Content-Length is no reason to read nothing.
            MaxBodyBytes = 1L << 40,
            MaxRedirects = RobotsRedirects,
            StoreStatuses = SuccessOnly,
        };
        var url = new Uri(origin + "/robots.txt", UriKind.Absolute);
        var result = await engine.FetchAsync(new FetchRequest(url, "robots.txt", robotsPolicy, sink), cancellationToken).ConfigureAwait(false);
        var status = result.StatusCode;
        var (outcome, reason) = result.ErrorKind switch
        {
            null => (RobotsOutcome.Parsed, (string?)null),
            FetchErrorKind.HttpStatus when status is >= 400 and < 500 and not 429 => (RobotsOutcome.Unavailable, $"HTTP {status}"),
            FetchErrorKind.HttpStatus => (RobotsOutcome.Unreachable, $"HTTP {status}"),
            FetchErrorKind.TooManyRedirects or FetchErrorKind.RedirectLoop or FetchErrorKind.InvalidUrl => (RobotsOutcome.Unavailable, result.ErrorKind.ToString()),
            FetchErrorKind.BlockedByPolicy when result.FinalUrl == url.AbsoluteUri => (RobotsOutcome.Blocked, result.ErrorKind.ToString()),
            _ => (RobotsOutcome.Unreachable, result.ErrorKind.ToString()),
        };
        if (outcome != RobotsOutcome.Parsed)
        {
            return new HostRecord(origin, outcome, status, reason, [], null, HostBackoff.None);
        }

        var rules = RobotsParser.Parse(sink.Content, RobotsParser.ProductToken(policy.UserAgent));
        return new HostRecord(origin, outcome, status, null, rules.Rules, rules.CrawlDelay, HostBackoff.None)
        {
            Sitemaps = rules.Sitemaps.Count > 0 ? rules.Sitemaps : null,
        };
    }

    private static async Task<(HostRecord Record, ETag ETag)?> ReadAsync(Azure.Storage.Blobs.BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var content = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
            var record = content.Content.ToObjectFromJson(RobotsJsonContext.Default.HostRecord)
                ?? throw new InvalidDataException($"Blob '{blob.Name}' holds JSON null.");
            return (record, content.Details.ETag);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    private static BinaryData Serialise(HostRecord record) => BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(record, RobotsJsonContext.Default.HostRecord));

    /// <summary>Writes a changed back-off state. A concurrent batch of the same origin (only possible when the
    /// orchestrator runs two at once) may have written first: then both states are merged, the slower one winning.</summary>
    private async Task SaveBackoffAsync(string jobId, HostPoliteness host, ETag etag, CancellationToken cancellationToken)
    {
        var blob = store.Container.GetBlobClient(BlobName(jobId, host.Origin));
        var state = host.Throttle.State;
        var record = host.Record;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await blob.UploadAsync(Serialise(record with { Backoff = state }), new BlobUploadOptions
                {
                    HttpHeaders = new BlobHttpHeaders { ContentType = JobStore.JsonContentType },
                    Conditions = new BlobRequestConditions { IfMatch = etag },
                }, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status == 412 && attempt < 3)
            {
                if (await ReadAsync(blob, cancellationToken).ConfigureAwait(false) is not { } theirs)
                {
                    return;
                }

                (record, etag) = theirs;
                var other = record.Backoff;
                state = new HostBackoff(
                    (state.Concurrency, other.Concurrency) switch
                    {
                        (null, var o) => o,
                        (var s, null) => s,
                        ({ } s, { } o) => Math.Min(s, o),
                    },
                    state.Delay > other.Delay ? state.Delay : other.Delay);
            }
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Crawl {JobId}: robots.txt of {Origin}: {Outcome}")]
    private static partial void LogRobots(ILogger logger, string jobId, string origin, RobotsOutcome outcome);

    /// <summary>The origins of one lane call. Each is looked up once; <see cref="SaveAsync"/> keeps changed back-off states.</summary>
    internal sealed class BatchHosts(JobHosts owner, string jobId, FetchPolicy policy, int baseConcurrency, CrawlOptions options) : IHostDirectory
    {
        private readonly ConcurrentDictionary<string, Lazy<Task<(HostPoliteness Host, ETag ETag)>>> _hosts = new(StringComparer.Ordinal);

        public async Task<HostPoliteness> GetAsync(string origin, CancellationToken cancellationToken) =>
            (await _hosts.GetOrAdd(origin, key => new Lazy<Task<(HostPoliteness, ETag)>>(() => OpenAsync(key, cancellationToken))).Value
                .ConfigureAwait(false)).Host;

        /// <summary>The hosts (without port, as results name them) of the origins that ran below their limits in this batch.</summary>
        public IReadOnlySet<string> SlowedHosts() => _hosts.Values
            .Where(h => h.Value.IsCompletedSuccessfully && h.Value.Result.Host.Throttle.Slowed)
            .Select(h => UrlNormaliser.HostOf(h.Value.Result.Host.Origin).ToString())
            .ToHashSet(StringComparer.Ordinal);

        public async Task SaveAsync(CancellationToken cancellationToken)
        {
            foreach (var entry in _hosts.Values.Where(h => h.Value.IsCompletedSuccessfully).Select(h => h.Value.Result))
            {
                if (entry.Host.Throttle.Changed)
                {
                    await owner.SaveBackoffAsync(jobId, entry.Host, entry.ETag, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private async Task<(HostPoliteness, ETag)> OpenAsync(string origin, CancellationToken cancellationToken)
        {
            var (record, etag, fetchedNow) = await owner.LoadAsync(jobId, origin, policy, options.RespectRobotsTxt, cancellationToken).ConfigureAwait(false);
            return (new HostPoliteness(record, options.RespectRobotsTxt, baseConcurrency, options.MaxCrawlDelay, fetchedNow), etag);
        }
    }
}
