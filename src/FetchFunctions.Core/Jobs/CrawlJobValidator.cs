using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Jobs;

/// <summary>One URL of a job as read from its source: the text (cut short for absurdly long blob lines), its full length,
/// and its position, from which the problem path is made only when there is a problem.</summary>
internal readonly record struct UrlEntry(string? Text, long Length, int Ordinal, string? ReadingStopped = null);

/// <summary>What a scan of a job's URLs found, and the fingerprints it collected (their table is reused to store the job,
/// so intake never holds two).</summary>
internal sealed record UrlScan(int UniqueUrls, int DuplicatesRemoved, long Entries, bool StoppedEarly)
{
    public UrlFingerprintSet? Fingerprints { get; init; }
}

/// <summary>The outcome of validating a job: its effective settings, where its URLs come from, and every problem found.</summary>
internal sealed record JobValidation(JobSettings Settings, IUrlSource? Urls, UrlScan? Scan, IReadOnlyList<ValidationProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;
}

/// <summary>Validates a job against the operator's limits and resolves its effective settings. Every problem is
/// reported, with the JSON path of the offending field (camelCase, as the request is written).</summary>
internal sealed partial class CrawlJobValidator(IOptions<CrawlOptions> crawlOptions, IOptions<FetchOptions> fetchOptions)
{
    private const int MaxHeaders = 32;
    private const int MaxHeaderNameLength = 256;
    private const int MaxHeaderValueLength = 4096;
    private const int MaxUserAgentLength = 512;
    private const int MaxPerHostDelayMilliseconds = 60_000;
    private const int MaxBlobNameLength = 1024;

    // Headers the HTTP stack owns: framing, connection management, the host and content negotiation it decodes itself.
    private static readonly HashSet<string> ForbiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
        "Proxy-Authenticate", "TE", "Trailer", "Upgrade", "Expect", "Accept-Encoding", "User-Agent",
    };

    private CrawlOptions Crawl => crawlOptions.Value;

    private FetchOptions Fetch => fetchOptions.Value;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex JobIdPattern();

    // RFC 9110 token characters.
    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderNamePattern();

    /// <summary>Validates everything about a job and scans its URLs once. <paramref name="openUrlList"/> opens a URL list
    /// blob by name, or returns null when there is no such blob. <paramref name="hostUrlList"/> is a list the host read
    /// itself (the CLI's URL file), taken after the inline URLs.</summary>
    public async Task<JobValidation> ValidateAsync(CrawlJobRequest request,
        Func<string, CancellationToken, Task<IUrlSource?>> openUrlList, CancellationToken cancellationToken, IUrlSource? hostUrlList = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(openUrlList);
        var problems = new ProblemList();
        CheckJobId(request.JobId, problems);
        var settings = ResolveSettings(request.Options, problems) with { Discovery = ResolveDiscovery(request.Crawl, problems) };
        var source = hostUrlList is null
            ? await OpenSourceAsync(request, openUrlList, problems, cancellationToken)
            : HostSource(request, hostUrlList, problems);
        UrlScan? scan = null;
        if (source is not null)
        {
            scan = await ScanUrlsAsync(source.ReadAsync(cancellationToken), source.PathOf, problems, cancellationToken);
            CheckUrlCount(scan, settings, source.Path, problems);
            CheckSeedsWithinMaxPages(scan, settings.Discovery, source.Path, problems);
        }

        return new JobValidation(settings, source, scan, problems.ToList(source?.Path ?? "urls"));
    }

    private InlineUrlSource? CheckInline(IReadOnlyList<string> urls, ProblemList problems)
    {
        if (urls.Count > Crawl.MaxInlineUrls)
        {
            problems.Add("urls", urls.Count.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture,
                $"lists {urls.Count} URLs inline; at most {Crawl.MaxInlineUrls} may be inline: put bigger lists in a blob and give urlListBlob."));
        }

        return new InlineUrlSource(urls);
    }

    private IUrlSource? HostSource(CrawlJobRequest request, IUrlSource hostUrlList, ProblemList problems)
    {
        if (request.UrlListBlob is not null)
        {
            problems.Add("urlListBlob", request.UrlListBlob, $"give either urlListBlob or a URL file ({hostUrlList.Path}), not both.");
            return null;
        }

        return request.Urls is { Count: > 0 } urls ? new ConcatenatedUrlSource(CheckInline(urls, problems)!, hostUrlList) : hostUrlList;
    }

    /// <summary>Why a URL list prefix is unusable, or null: it must end with '/', be a usable blob name prefix, and its
    /// first segment must be no job id (or a job's own folder would lie under it).</summary>
    internal static string? UrlListPrefixProblem(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix) || !prefix.EndsWith('/') || prefix.StartsWith('/'))
        {
            return "must be a folder: not starting with '/', ending with '/'.";
        }

        if (BlobNameProblem(prefix[..^1]) is { } problem)
        {
            return problem;
        }

        return IsValidJobId(prefix.Split('/')[0]) ? "must not start with a folder a job id could name (begin it with '_', as the default '_uploads/')." : null;
    }

    /// <summary>Why a name is no safe blob name, or null. Dot segments are refused because the HTTP layer would resolve
    /// them ("_uploads/../job-a/job.json" is "job-a/job.json"), backslashes because storage reads them as '/'.</summary>
    private static string? BlobNameProblem(string name)
    {
        if (name.Length is 0 or > MaxBlobNameLength || name.Any(char.IsControl) || name.Trim().Length != name.Length)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"is not a blob name: 1-{MaxBlobNameLength} characters, no control characters or surrounding spaces.");
        }

        if (name.Contains('\\', StringComparison.Ordinal) || name.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            return "is not a blob name: no '\\', empty, '.' or '..' segments.";
        }

        return null;
    }

    private async Task<IUrlSource?> OpenSourceAsync(CrawlJobRequest request,
        Func<string, CancellationToken, Task<IUrlSource?>> openUrlList, ProblemList problems, CancellationToken cancellationToken)
    {
        if (request.Urls is not null && request.UrlListBlob is not null)
        {
            problems.Add("urlListBlob", request.UrlListBlob, "give either urls or urlListBlob, not both.");
            return null;
        }

        if (request.Urls is { } urls)
        {
            return CheckInline(urls, problems);
        }

        if (request.UrlListBlob is not { } blobName)
        {
            problems.Add("urls", null, "is required: give the URLs inline (urls) or the name of a URL list blob (urlListBlob).");
            return null;
        }

        if (BlobNameProblem(blobName) is { } nameProblem)
        {
            problems.Add("urlListBlob", blobName, nameProblem);
            return null;
        }

        // A job reads only what was uploaded for jobs to read: never another job's blobs (nor quotes their lines).
        var prefix = Crawl.UrlListPrefix;
        if (!blobName.StartsWith(prefix, StringComparison.Ordinal) || blobName.Length == prefix.Length)
        {
            problems.Add("urlListBlob", blobName, $"must name a blob under '{prefix}' (Crawl:UrlListPrefix), where URL lists are uploaded.");
            return null;
        }

        var source = await openUrlList(blobName, cancellationToken);
        if (source is null)
        {
            problems.Add("urlListBlob", blobName, "names no blob in the crawl container.");
        }

        return source;
    }

    /// <summary>Job ids become blob name prefixes and Durable instance ids, so only a safe alphabet is accepted.</summary>
    public static bool IsValidJobId(string? jobId) => jobId is not null && JobIdPattern().IsMatch(jobId);

    public static void CheckJobId(string? jobId, ProblemList problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (jobId is not null && !IsValidJobId(jobId))
        {
            problems.Add("jobId", jobId, "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit.");
        }
    }

    /// <summary>The job's effective settings. Invalid fields are reported and fall back to the operator's value, so that
    /// checks depending on them still run.</summary>
    public JobSettings ResolveSettings(CrawlJobOptions? options, ProblemList problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        options ??= new CrawlJobOptions();
        var crawl = Crawl;
        var fetch = Fetch;

        var maxConcurrency = InRange(options.MaxConcurrency, crawl.MaxConcurrency, 1, crawl.MaxConcurrency, "options.maxConcurrency", problems);
        var perHostLimit = Math.Min(crawl.MaxConcurrencyPerHost, maxConcurrency);
        var maxPerHost = InRange(options.MaxConcurrencyPerHost, perHostLimit, 1, perHostLimit, "options.maxConcurrencyPerHost", problems);
        var delayMs = InRange(options.PerHostDelayMilliseconds, (int)crawl.PerHostDelay.TotalMilliseconds,
            (int)Math.Ceiling(crawl.PerHostDelay.TotalMilliseconds), MaxPerHostDelayMilliseconds, "options.perHostDelayMilliseconds", problems);
        var attemptTimeout = Seconds(options.AttemptTimeoutSeconds, fetch.AttemptTimeout, "options.attemptTimeoutSeconds", problems);
        var totalTimeout = Seconds(options.TotalTimeoutSeconds, fetch.TotalTimeout, "options.totalTimeoutSeconds", problems);
        if (attemptTimeout >= totalTimeout)
        {
            var path = options.TotalTimeoutSeconds is not null ? "options.totalTimeoutSeconds" : "options.attemptTimeoutSeconds";
            var value = options.TotalTimeoutSeconds ?? options.AttemptTimeoutSeconds;
            problems.Add(path, value?.ToString(CultureInfo.InvariantCulture),
                $"the attempt timeout ({attemptTimeout.TotalSeconds:0.###} s) must be less than the total timeout ({totalTimeout.TotalSeconds:0.###} s).");
            (attemptTimeout, totalTimeout) = (fetch.AttemptTimeout, fetch.TotalTimeout);
        }

        var fetchDeadline = Seconds(options.FetchDeadlineSeconds, fetch.FetchDeadline, "options.fetchDeadlineSeconds", problems);
        if (options.FetchDeadlineSeconds is { } deadlineSeconds && options.TotalTimeoutSeconds is not null && totalTimeout > fetchDeadline)
        {
            // Only a total timeout the job chose itself must fit its deadline; the operator's is simply cut short by it.
            problems.Add("options.fetchDeadlineSeconds", deadlineSeconds.ToString(CultureInfo.InvariantCulture),
                $"the fetch deadline ({fetchDeadline.TotalSeconds:0.###} s) must be at least the total timeout ({totalTimeout.TotalSeconds:0.###} s).");
            fetchDeadline = fetch.FetchDeadline;
        }

        var maxRetries = InRange(options.MaxRetries, fetch.MaxRetries, 0, fetch.MaxRetries, "options.maxRetries", problems);
        var maxBodyBytes = InRange(options.MaxBodyBytes, fetch.MaxBodyBytes, 1, fetch.MaxBodyBytes, "options.maxBodyBytes", problems);
        var maxRedirects = InRange(options.MaxRedirects, fetch.MaxRedirects, 0, fetch.MaxRedirects, "options.maxRedirects", problems);
        var batchSize = InRange(options.BatchSize, crawl.BatchSize, 1, crawl.MaxBatchSize, "options.batchSize", problems);
        var batchesInFlight = InRange(options.MaxBatchesInFlight, crawl.MaxBatchesInFlight, 1, crawl.MaxBatchesInFlight,
            "options.maxBatchesInFlight", problems);

        return new JobSettings
        {
            BatchSize = batchSize,
            MaxBatchesInFlight = batchesInFlight,
            MaxConcurrency = maxConcurrency,
            MaxConcurrencyPerHost = maxPerHost,
            PerHostDelay = TimeSpan.FromMilliseconds(delayMs),
            AttemptTimeout = attemptTimeout,
            TotalTimeout = totalTimeout,
            FetchDeadline = fetchDeadline,
            MaxRetries = maxRetries,
            MaxBodyBytes = maxBodyBytes,
            MaxRedirects = maxRedirects,
            UserAgent = CheckUserAgent(options.UserAgent, fetch.UserAgent, problems),
            Headers = CheckHeaders(options.Headers, problems),
            StoreStatuses = CheckStoreStatuses(options.StoreStatuses, fetch.EffectiveStoreStatuses, problems),
            AllowedNetworks = CheckAllowedNetworks(options.AllowedNetworks, fetch.AllowedNetworks, problems),
            Store = CheckStore(options.Store, crawl.Store, problems),
        };
    }

    private static string CheckStore(string? store, string fallback, ProblemList problems)
    {
        if (store is null)
        {
            return fallback;
        }

        if (store is StoreKinds.Warc or StoreKinds.Blobs)
        {
            return store;
        }

        problems.Add("options.store", store, $"must be '{StoreKinds.Warc}' or '{StoreKinds.Blobs}'.");
        return fallback;
    }

    /// <summary>Normalises every URL, reports the bad ones, and counts the unique ones and the duplicates.
    /// Reading stops after <see cref="CrawlOptions.MaxUrls"/> unique URLs (one more proves the job too big) or twice
    /// as many entries, so a huge list costs bounded time.</summary>
    public async Task<UrlScan> ScanUrlsAsync(IAsyncEnumerable<UrlEntry> entries, Func<int, string> pathOf, ProblemList problems,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(pathOf);
        ArgumentNullException.ThrowIfNull(problems);
        var crawl = Crawl;
        var seen = new UrlFingerprintSet();
        var duplicates = 0;
        long count = 0;
        await foreach (var entry in entries.WithCancellation(cancellationToken))
        {
            count++;
            if (entry.ReadingStopped is { } why)
            {
                problems.AddUrl(pathOf(entry.Ordinal), entry.Text, why);
            }
            else if (entry.Length > crawl.MaxUrlLength)
            {
                problems.AddUrl(pathOf(entry.Ordinal), entry.Text, string.Create(CultureInfo.InvariantCulture,
                    $"is {entry.Length} characters long; at most {crawl.MaxUrlLength} are allowed."));
            }
            else if (UrlNormaliser.TryNormalise(entry.Text, crawl.MaxUrlLength, crawl.AllowedPorts, out var normalised) is { } reason)
            {
                problems.AddUrl(pathOf(entry.Ordinal), entry.Text, reason);
            }
            else if (!seen.Add(Fingerprint(normalised)))
            {
                duplicates++;
            }

            if (seen.Count > crawl.MaxUrls || count >= 2L * crawl.MaxUrls)
            {
                return new UrlScan(seen.Count, duplicates, count, StoppedEarly: true);
            }
        }

        return new UrlScan(seen.Count, duplicates, count, StoppedEarly: false) { Fingerprints = seen };
    }

    /// <summary>Checks the job's size once its URLs are counted.</summary>
    public void CheckUrlCount(UrlScan scan, JobSettings settings, string urlsPath, ProblemList problems)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(problems);
        var crawl = Crawl;
        if (scan.StoppedEarly)
        {
            problems.Add(urlsPath, null, string.Create(CultureInfo.InvariantCulture,
                $"has more than {crawl.MaxUrls} URLs (reading stopped after {scan.Entries} entries); at most {crawl.MaxUrls} are allowed."));
            return;
        }

        if (scan.Entries == 0)
        {
            problems.Add(urlsPath, null, "lists no URLs; a job needs at least one.");
            return;
        }

        var batches = BatchLayout.BatchCount(scan.UniqueUrls, settings.BatchSize);
        var maxBatches = crawl.MaxBatchesPerJob;
        if (batches > maxBatches)
        {
            problems.Add("options.batchSize", settings.BatchSize.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture,
                $"is too small for {scan.UniqueUrls} URLs: they would need {batches} batches; at most {maxBatches} are allowed."));
        }
    }

    /// <summary>A 128-bit fingerprint of a normalised URL: a set of these (<see cref="UrlFingerprintSet"/>) finds duplicates
    /// among ten million URLs in a few hundred megabytes, where a set of the strings would take gigabytes.</summary>
    public static UInt128 Fingerprint(string normalisedUrl)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(normalisedUrl.AsSpan()), hash);
        return BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }

    private static int InRange(int? value, int fallback, int min, int max, string path, ProblemList problems) =>
        (int)InRange((long?)value, fallback, min, max, path, problems);

    private static long InRange(long? value, long fallback, long min, long max, string path, ProblemList problems)
    {
        if (value is not { } v)
        {
            return fallback;
        }

        if (v >= min && v <= max)
        {
            return v;
        }

        problems.Add(path, v.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture,
            $"must be between {min} and {max} (the operator's limit)."));
        return fallback;
    }

    private static TimeSpan Seconds(int? value, TimeSpan limit, string path, ProblemList problems)
    {
        if (value is not { } seconds)
        {
            return limit;
        }

        if (seconds >= 1 && TimeSpan.FromSeconds(seconds) <= limit)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        problems.Add(path, seconds.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture,
            $"must be at least 1 and at most {limit.TotalSeconds:0.###} seconds (the operator's limit)."));
        return limit;
    }

    private static string CheckUserAgent(string? userAgent, string fallback, ProblemList problems)
    {
        if (userAgent is null)
        {
            return fallback;
        }

        if (userAgent.Length is 0 or > MaxUserAgentLength || !IsPrintableAscii(userAgent, allowTab: false) || userAgent.Trim().Length == 0)
        {
            problems.Add("options.userAgent", userAgent, string.Create(CultureInfo.InvariantCulture,
                $"must be 1-{MaxUserAgentLength} printable ASCII characters, not only spaces."));
            return fallback;
        }

        return userAgent;
    }

    private static Dictionary<string, string> CheckHeaders(IReadOnlyDictionary<string, string>? headers, ProblemList problems)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (headers is null)
        {
            return result;
        }

        if (headers.Count > MaxHeaders)
        {
            problems.Add("options.headers", headers.Count.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"has {headers.Count} headers; at most {MaxHeaders} are allowed."));
        }

        foreach (var (name, value) in headers.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            var path = $"options.headers['{name}']";
            if (name.Length is 0 or > MaxHeaderNameLength || !HeaderNamePattern().IsMatch(name))
            {
                problems.Add(path, name, string.Create(CultureInfo.InvariantCulture,
                    $"is not a header name: 1-{MaxHeaderNameLength} letters, digits and !#$%&'*+-.^_`|~ only."));
                continue;
            }

            if (ForbiddenHeaders.Contains(name))
            {
                problems.Add(path, name, name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase)
                    ? "is set with options.userAgent."
                    : "is managed by the HTTP client (hop-by-hop, framing, host or content encoding) and cannot be set.");
                continue;
            }

            if (value is null || value.Length > MaxHeaderValueLength || !IsPrintableAscii(value, allowTab: true))
            {
                // A credential is not echoed back, even a malformed one.
                problems.Add(path, SensitiveHeaders.Shown(name, value), string.Create(CultureInfo.InvariantCulture,
                    $"must be at most {MaxHeaderValueLength} printable ASCII characters (no CR, LF or other control characters)."));
                continue;
            }

            if (!result.TryAdd(name, value))
            {
                problems.Add(path, name, "repeats a header name (names are case-insensitive).");
            }
        }

        return result;
    }

    private static List<string> CheckStoreStatuses(IReadOnlyList<string>? statuses, IReadOnlyList<string> fallback, ProblemList problems)
    {
        if (statuses is null)
        {
            return [.. fallback];
        }

        var valid = new List<string>(statuses.Count);
        for (var i = 0; i < statuses.Count; i++)
        {
            var item = statuses[i];
            string? error = null;
            if (item is null || !StatusSet.TryParse([item], out _, out error))
            {
                problems.Add($"options.storeStatuses[{i}]", item, error ?? "is not a status code or range.");
                continue;
            }

            valid.Add(item.Trim());
        }

        // An empty list is a valid choice: check links without storing any body.
        return valid;
    }

    private static List<string> CheckAllowedNetworks(IReadOnlyList<string>? networks, List<string> operatorNetworks, ProblemList problems)
    {
        if (networks is null)
        {
            return [.. operatorNetworks];
        }

        var allowed = operatorNetworks.Select(IPNetwork.Parse).ToArray();
        var result = new List<string>(networks.Count);
        for (var i = 0; i < networks.Count; i++)
        {
            var text = networks[i];
            var path = $"options.allowedNetworks[{i}]";
            if (text is null || !IPNetwork.TryParse(text, out var network))
            {
                problems.Add(path, text, "is not a CIDR range such as 10.0.0.0/8 or 127.0.0.1/32.");
                continue;
            }

            if (!allowed.Any(a => Contains(a, network)))
            {
                problems.Add(path, text, allowed.Length == 0
                    ? "is not allowed: the operator allows no networks beyond the public internet."
                    : $"is not within the operator's allowed networks ({string.Join(", ", operatorNetworks)}).");
                continue;
            }

            result.Add(network.ToString());
        }

        return result;
    }

    /// <summary>Whether <paramref name="inner"/> lies wholly within <paramref name="outer"/>.</summary>
    internal static bool Contains(IPNetwork outer, IPNetwork inner) =>
        outer.BaseAddress.AddressFamily == inner.BaseAddress.AddressFamily
        && outer.PrefixLength <= inner.PrefixLength
        && outer.Contains(inner.BaseAddress);

    private static bool IsPrintableAscii(string text, bool allowTab) =>
        text.All(c => c is >= ' ' and <= '~' || (allowTab && c == '\t'));
}
