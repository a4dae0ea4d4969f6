using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Serialization;
using Azure;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Discovery;

/// <summary>A round to plan: the pages at <see cref="Depth"/> were fetched by batches
/// [<see cref="FirstBatch"/>, <see cref="FirstBatch"/> + <see cref="BatchCount"/>); their links make round Depth + 1.</summary>
public sealed record RoundWork(string JobId, int Depth, int FirstBatch, int BatchCount);

/// <summary>What planning one round found, for the summary: <see cref="Planned"/> new pages at <see cref="Depth"/> (the
/// round's URL list), and what happened to every link read from the pages one level up.</summary>
public sealed record RoundStats
{
    /// <summary>The depth of the round's URLs.</summary>
    public required int Depth { get; init; }

    public required int Planned { get; init; }

    /// <summary>Pages planned in the whole job so far, seeds and this round included (never more than maxPages).</summary>
    public required long PlannedInJob { get; init; }

    public required long PagesRead { get; init; }
    public required long LinksFound { get; init; }
    public required long OutOfScope { get; init; }
    public required long Excluded { get; init; }
    public required long Duplicates { get; init; }
    public required long Nofollow { get; init; }
    public required long TooDeep { get; init; }
    public required long OverMaxPages { get; init; }

    /// <summary>Links dropped on the page: unusable scheme or URL, or beyond the links kept per page.</summary>
    public required long Unusable { get; init; }
}

/// <summary>Blob names of link discovery, beside the job's other blobs.</summary>
internal static class FrontierBlobNames
{
    /// <summary>The links found by one batch's pages (<see cref="LinkLog"/>), committed before its results.</summary>
    public static string Links(string jobId, int batch) => string.Create(CultureInfo.InvariantCulture, $"{jobId}/links/{batch:D6}.txt");

    /// <summary>A round's URLs to fetch, one <c>url\tfoundOn</c> line each, in the order found.</summary>
    public static string Round(string jobId, int depth) => string.Create(CultureInfo.InvariantCulture, $"{jobId}/frontier/round-{depth:D3}.txt");

    /// <summary>The round's <see cref="RoundStats"/>, written last: its presence means the round is planned.</summary>
    public static string RoundStats(string jobId, int depth) => string.Create(CultureInfo.InvariantCulture, $"{jobId}/frontier/round-{depth:D3}.json");

    /// <summary>The seeds' plan id the stored rounds belong to: another plan of the job's seeds discards them.</summary>
    public static string SeedPlan(string jobId) => $"{jobId}/frontier/plan.txt";

    public static string LinksPrefix(string jobId) => $"{jobId}/links/";

    public static string FrontierPrefix(string jobId) => $"{jobId}/frontier/";

    /// <summary>Every URL planned up to and including the round (and the final URLs of redirects), as sorted 16-byte hashes.</summary>
    public static string Seen(string jobId, int depth) => string.Create(CultureInfo.InvariantCulture, $"{jobId}/frontier/seen-{depth:D3}.bin");
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RoundStats))]
internal sealed partial class FrontierJsonContext : JsonSerializerContext;

/// <summary>The job's frontier, shared by stateless workers through storage, a round per depth. Planning round d+1 reads
/// the link logs of round d's batches, drops what the rules drop (<see cref="DiscoveryRules"/>), de-duplicates against
/// the job's seen set (the seeds and every URL planned before, plus the final URLs of redirects) and writes round d+1's
/// URL list, cut at maxPages. The seen set is 16-byte hashes only (a million URLs take tens of megabytes), stored per
/// round, so each URL is planned once per job however many pages link to it. Planning is idempotent: a round whose stats
/// blob exists is read back, not planned again, and a re-run writes the same blobs from the same logs.</summary>
internal sealed partial class Frontier(JobStore store, ILogger<Frontier> logger)
{
    private const int HashBytes = 16;

    public async Task<RoundStats> PlanNextRoundAsync(StoredJob job, RoundWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(work);
        var discovery = job.Settings.Discovery ?? throw new InvalidOperationException($"Job '{job.JobId}' does not discover links.");
        var next = work.Depth + 1;
        if (await ReadStatsAsync(job.JobId, next, cancellationToken).ConfigureAwait(false) is { } done)
        {
            return done;
        }

        var (scope, seen) = await LoadSeedsAsync(job, cancellationToken).ConfigureAwait(false);
        if (work.Depth > 0 || await ReadStatsAsync(job.JobId, 0, cancellationToken).ConfigureAwait(false) is not null)
        {
            seen = await ReadSeenAsync(job.JobId, work.Depth, cancellationToken).ConfigureAwait(false);
        }

        var plannedBefore = (await ReadStatsAsync(job.JobId, work.Depth, cancellationToken).ConfigureAwait(false))?.PlannedInJob
            ?? (work.Depth == 0 ? job.UrlCount : throw new InvalidOperationException($"Round {work.Depth} of job '{job.JobId}' was never planned."));

        // First the final URLs of every redirected page: a page fetched under another URL must not be planned again
        // because a page earlier in the logs links to it.
        await ForEachLineAsync(job.JobId, work, line =>
        {
            if (LinkLog.ParseHeader(line) is { FinalUrl: { } final })
            {
                seen.Add(CrawlJobValidator.Fingerprint(final));
            }

            return Task.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);

        var counts = new Counts();
        var room = Math.Max(0, discovery.MaxPages - plannedBefore);
        using var writer = store.CreateTextWriter(FrontierBlobNames.Round(job.JobId, next));
        LogHeader? page = null;
        var pageLeftScope = false;
        // Planned URLs go straight to the round's staged blob: memory holds the seen hashes and one block, however many.
        await ForEachLineAsync(job.JobId, work, CountAsync, cancellationToken).ConfigureAwait(false);
        return await WriteRoundAsync().ConfigureAwait(false);

        async Task CountAsync(string line)
        {
            if (LinkLog.ParseHeader(line) is { } header)
            {
                page = header;
                pageLeftScope = header.FinalUrl is { } final && !scope.Contains(final);
                counts.PagesRead++;
                counts.Unusable += header.Unusable + header.OverCap;
                return;
            }

            if (page is null || line.Length < 2)
            {
                throw new InvalidDataException($"A link line outside a page in the link logs of job '{job.JobId}'.");
            }

            var url = line[1..];
            counts.LinksFound++;
            var verdict = pageLeftScope ? LinkVerdict.OutOfScope : DiscoveryRules.Decide(url, line[0] == '-', page.Depth, discovery, scope);
            switch (verdict)
            {
                case LinkVerdict.TooDeep:
                    counts.TooDeep++;
                    return;
                case LinkVerdict.Nofollow:
                    counts.Nofollow++;
                    return;
                case LinkVerdict.OutOfScope:
                    counts.OutOfScope++;
                    return;
                case LinkVerdict.Excluded:
                    counts.Excluded++;
                    return;
            }

            if (!seen.Add(CrawlJobValidator.Fingerprint(url)))
            {
                counts.Duplicates++;
                return;
            }

            if (counts.Planned >= room)
            {
                // Not seen after all: it was never planned (a later round has no room either, but the count stays honest).
                seen.Remove(CrawlJobValidator.Fingerprint(url));
                counts.OverMaxPages++;
                return;
            }

            counts.Planned++;
            await writer.WriteLineAsync($"{url}\t{page.FinalUrl ?? page.Url}", cancellationToken).ConfigureAwait(false);
        }

        async Task<RoundStats> WriteRoundAsync()
        {
            await writer.CommitAsync(JobStore.TextContentType, cancellationToken).ConfigureAwait(false);
            await WriteSeenAsync(job.JobId, next, seen, cancellationToken).ConfigureAwait(false);
            var stats = new RoundStats
            {
                Depth = next,
                Planned = counts.Planned,
                PlannedInJob = plannedBefore + counts.Planned,
                PagesRead = counts.PagesRead,
                LinksFound = counts.LinksFound,
                OutOfScope = counts.OutOfScope,
                Excluded = counts.Excluded,
                Duplicates = counts.Duplicates,
                Nofollow = counts.Nofollow,
                TooDeep = counts.TooDeep,
                OverMaxPages = counts.OverMaxPages,
                Unusable = counts.Unusable,
            };
            await store.WriteJsonAsync(FrontierBlobNames.RoundStats(job.JobId, next), stats, FrontierJsonContext.Default.RoundStats, cancellationToken)
                .ConfigureAwait(false);
            LogRoundPlanned(logger, job.JobId, next, stats.Planned, stats.LinksFound, stats.Duplicates, stats.OutOfScope);
            return stats;
        }
    }

    /// <summary>The scope of the job's seeds and their fingerprints (the seen set before any round). Every seed is held
    /// while the scope is built: a million seeds take a few hundred megabytes here, once per planning step.</summary>
    public async Task<(CrawlScope Scope, HashSet<UInt128> Seen)> LoadSeedsAsync(StoredJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var discovery = job.Settings.Discovery ?? throw new InvalidOperationException($"Job '{job.JobId}' does not discover links.");
        var seeds = new List<string>(job.UrlCount);
        await foreach (var line in store.ReadLinesAsync(job.UrlListBlobName, cancellationToken).ConfigureAwait(false))
        {
            if (line.Length > 0)
            {
                seeds.Add(line);
            }
        }

        return (CrawlScope.For(discovery, seeds), [.. seeds.Select(CrawlJobValidator.Fingerprint)]);
    }

    /// <summary>The distinct origins of the job's seeds, in order of first appearance, at most <paramref name="max"/>.</summary>
    public async Task<IReadOnlyList<string>> SeedOriginsAsync(StoredJob job, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var origins = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var line in store.ReadLinesAsync(job.UrlListBlobName, cancellationToken).ConfigureAwait(false))
        {
            if (line.Length > 0 && seen.Add(Robots.HostPoliteness.OriginOf(line)))
            {
                origins.Add(Robots.HostPoliteness.OriginOf(line));
                if (origins.Count == max)
                {
                    break;
                }
            }
        }

        return origins;
    }

    /// <summary>Round 0's second part: the URLs the seeds' sitemaps added (<see cref="SitemapWalker"/>, walked with the
    /// seen set of <see cref="LoadSeedsAsync"/>), at depth 0, each with its sitemap as the page it was found on. Written
    /// once; a second call reads the first one's stats back.</summary>
    public async Task<RoundStats> WriteSitemapRoundAsync(StoredJob job, SitemapHarvest harvest, HashSet<UInt128> seen, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(harvest);
        ArgumentNullException.ThrowIfNull(seen);
        if (await ReadStatsAsync(job.JobId, 0, cancellationToken).ConfigureAwait(false) is { } done)
        {
            return done;
        }

        using var writer = store.CreateTextWriter(FrontierBlobNames.Round(job.JobId, 0));
        foreach (var url in harvest.Urls)
        {
            await writer.WriteLineAsync($"{url.Url}\t{url.Sitemap}", cancellationToken).ConfigureAwait(false);
        }

        await writer.CommitAsync(JobStore.TextContentType, cancellationToken).ConfigureAwait(false);
        await WriteSeenAsync(job.JobId, 0, seen, cancellationToken).ConfigureAwait(false);
        var stats = new RoundStats
        {
            Depth = 0,
            Planned = harvest.Urls.Count,
            PlannedInJob = job.UrlCount + harvest.Urls.Count,
            PagesRead = harvest.SitemapsRead,
            LinksFound = harvest.Listed,
            OutOfScope = harvest.OutOfScope,
            Excluded = harvest.Excluded,
            Duplicates = harvest.Duplicates,
            Nofollow = 0,
            TooDeep = 0,
            OverMaxPages = harvest.OverMaxPages,
            Unusable = harvest.Unusable,
        };
        await store.WriteJsonAsync(FrontierBlobNames.RoundStats(job.JobId, 0), stats, FrontierJsonContext.Default.RoundStats, cancellationToken)
            .ConfigureAwait(false);
        return stats;
    }

    /// <summary>A planned round's stats (round 0: the sitemaps' URLs), or null when it is not planned.</summary>
    public Task<RoundStats?> ReadStatsAsync(string jobId, int depth, CancellationToken cancellationToken) =>
        store.ReadJsonAsync(FrontierBlobNames.RoundStats(jobId, depth), FrontierJsonContext.Default.RoundStats, cancellationToken);

    /// <summary>The URLs of a planned round with the page each was found on, in order.</summary>
    public async IAsyncEnumerable<(string Url, string FoundOn)> ReadRoundAsync(string jobId, int depth,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in store.ReadLinesAsync(FrontierBlobNames.Round(jobId, depth), cancellationToken).ConfigureAwait(false))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab > 0)
            {
                yield return (line[..tab], line[(tab + 1)..]);
            }
        }
    }

    private async Task ForEachLineAsync(string jobId, RoundWork work, Func<string, Task> onLine, CancellationToken cancellationToken)
    {
        for (var batch = work.FirstBatch; batch < work.FirstBatch + work.BatchCount; batch++)
        {
            IAsyncEnumerator<string>? lines = null;
            try
            {
                lines = store.ReadLinesAsync(FrontierBlobNames.Links(jobId, batch), cancellationToken).GetAsyncEnumerator(cancellationToken);
                while (await lines.MoveNextAsync().ConfigureAwait(false))
                {
                    if (lines.Current.Length > 0)
                    {
                        await onLine(lines.Current).ConfigureAwait(false);
                    }
                }
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // A batch whose pages had no HTML to read wrote no log.
            }
            finally
            {
                if (lines is not null)
                {
                    await lines.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private async Task<HashSet<UInt128>> ReadSeenAsync(string jobId, int depth, CancellationToken cancellationToken)
    {
        BinaryData content;
        try
        {
            content = (await store.Container.GetBlobClient(FrontierBlobNames.Seen(jobId, depth)).DownloadContentAsync(cancellationToken)
                .ConfigureAwait(false)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new InvalidOperationException($"The seen set of round {depth} of job '{jobId}' is missing.", ex);
        }

        var bytes = content.ToMemory().Span;
        var seen = new HashSet<UInt128>(bytes.Length / HashBytes);
        for (var at = 0; at + HashBytes <= bytes.Length; at += HashBytes)
        {
            seen.Add(BinaryPrimitives.ReadUInt128LittleEndian(bytes[at..]));
        }

        return seen;
    }

    private Task WriteSeenAsync(string jobId, int depth, HashSet<UInt128> seen, CancellationToken cancellationToken)
    {
        // Sorted, so the same set is the same blob whichever worker wrote it.
        var sorted = seen.ToArray();
        Array.Sort(sorted);
        var bytes = new byte[sorted.Length * HashBytes];
        for (var i = 0; i < sorted.Length; i++)
        {
            BinaryPrimitives.WriteUInt128LittleEndian(bytes.AsSpan(i * HashBytes), sorted[i]);
        }

        return store.UploadAsync(FrontierBlobNames.Seen(jobId, depth), BinaryData.FromBytes(bytes), "application/octet-stream", cancellationToken);
    }

    private sealed class Counts
    {
        public int Planned { get; set; }
        public long PagesRead { get; set; }
        public long LinksFound { get; set; }
        public long OutOfScope { get; set; }
        public long Excluded { get; set; }
        public long Duplicates { get; set; }
        public long Nofollow { get; set; }
        public long TooDeep { get; set; }
        public long OverMaxPages { get; set; }
        public long Unusable { get; set; }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "Job {JobId}: round {Depth} planned with {Planned} new pages ({LinksFound} links read, {Duplicates} duplicates, {OutOfScope} out of scope)")]
    private static partial void LogRoundPlanned(ILogger logger, string jobId, int depth, int planned, long linksFound, long duplicates, long outOfScope);
}
