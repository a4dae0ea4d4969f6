using System.Text.Json;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Cli;

/// <summary>Job settings given as flags; each one set overrides the job file.</summary>
internal sealed record JobFlags
{
    public FileInfo? JobFile { get; init; }
    public IReadOnlyList<string> Urls { get; init; } = [];
    public FileInfo? UrlsFile { get; init; }
    public string? JobId { get; init; }
    public int? Concurrency { get; init; }
    public int? PerHost { get; init; }
    public int? PerHostDelayMilliseconds { get; init; }
    public int? Retries { get; init; }
    public int? AttemptTimeoutSeconds { get; init; }
    public int? TotalTimeoutSeconds { get; init; }
    public int? FetchDeadlineSeconds { get; init; }
    public long? MaxBytes { get; init; }
    public string? UserAgent { get; init; }
    public IReadOnlyList<string> Headers { get; init; } = [];
    public IReadOnlyList<string> StoreStatuses { get; init; } = [];
    public IReadOnlyList<string> AllowNetworks { get; init; } = [];
    public int? BatchSize { get; init; }
    public int? BatchesInFlight { get; init; }
    public int? Depth { get; init; }
    public int? MaxPages { get; init; }
    public IReadOnlyList<string> Scope { get; init; } = [];
    public IReadOnlyList<string> Include { get; init; } = [];
    public IReadOnlyList<string> Exclude { get; init; } = [];
    public bool Sitemaps { get; init; }
    public bool NoRespectNofollow { get; init; }

    /// <summary>Whether any link discovery flag is set (then the job gets a crawl section).</summary>
    public bool SetsDiscovery => Depth is not null || MaxPages is not null || Scope.Count > 0 || Include.Count > 0 || Exclude.Count > 0
        || Sitemaps || NoRespectNofollow;
    public string? Store { get; init; }
}

/// <summary>Turns a job file and flags into the <see cref="CrawlJobRequest"/> Core validates. Only shape is checked here
/// (readable file, JSON, header syntax); every rule about the job itself is Core's.</summary>
internal static class JobInput
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>The request, and the URL file as a list Core reads itself (streamed, twice: to validate, then to store):
    /// nothing is uploaded for it before the job is valid.</summary>
    public static async Task<(CrawlJobRequest Request, HostUrlList? UrlList)> BuildAsync(JobFlags flags, CancellationToken cancellationToken)
    {
        var request = flags.JobFile is null ? new CrawlJobRequest() : await ReadJobFileAsync(flags.JobFile, cancellationToken);
        var urls = new List<string>(request.Urls ?? []);
        urls.AddRange(flags.Urls);
        var urlList = flags.UrlsFile is null ? null : OpenUrlFile(flags.UrlsFile);
        if (urls.Count == 0 && request.UrlListBlob is null && urlList is null)
        {
            throw new CliInputException("No URLs: give a job file, --url or --urls-file.");
        }

        var options = request.Options ?? new CrawlJobOptions();
        options = options with
        {
            MaxConcurrency = flags.Concurrency ?? options.MaxConcurrency,
            MaxConcurrencyPerHost = flags.PerHost ?? options.MaxConcurrencyPerHost,
            PerHostDelayMilliseconds = flags.PerHostDelayMilliseconds ?? options.PerHostDelayMilliseconds,
            MaxRetries = flags.Retries ?? options.MaxRetries,
            AttemptTimeoutSeconds = flags.AttemptTimeoutSeconds ?? options.AttemptTimeoutSeconds,
            TotalTimeoutSeconds = flags.TotalTimeoutSeconds ?? options.TotalTimeoutSeconds,
            FetchDeadlineSeconds = flags.FetchDeadlineSeconds ?? options.FetchDeadlineSeconds,
            MaxBodyBytes = flags.MaxBytes ?? options.MaxBodyBytes,
            UserAgent = flags.UserAgent ?? options.UserAgent,
            Headers = flags.Headers.Count > 0 ? ParseHeaders(flags.Headers, options.Headers) : options.Headers,
            StoreStatuses = flags.StoreStatuses.Count > 0 ? flags.StoreStatuses : options.StoreStatuses,
            AllowedNetworks = flags.AllowNetworks.Count > 0 ? flags.AllowNetworks : options.AllowedNetworks,
            BatchSize = flags.BatchSize ?? options.BatchSize,
            MaxBatchesInFlight = flags.BatchesInFlight ?? options.MaxBatchesInFlight,
            Store = flags.Store ?? options.Store,
        };

        // Inline URLs (job file and --url) stay inline, up to Crawl:MaxInlineUrls as in an HTTP request; a job file that
        // names a list blob keeps it, and Core reports URLs or a URL file given beside it.
        request = request with
        {
            JobId = flags.JobId ?? request.JobId,
            Urls = urls.Count == 0 ? null : urls,
            Options = options,
            Crawl = flags.SetsDiscovery ? WithDiscoveryFlags(request.Crawl ?? new CrawlDiscoveryOptions(), flags) : request.Crawl,
        };
        return (request, urlList);
    }

    private static CrawlDiscoveryOptions WithDiscoveryFlags(CrawlDiscoveryOptions crawl, JobFlags flags) => crawl with
    {
        MaxDepth = flags.Depth ?? crawl.MaxDepth,
        MaxPages = flags.MaxPages ?? crawl.MaxPages,
        Scope = flags.Scope.Count > 0 ? flags.Scope : crawl.Scope,
        Include = flags.Include.Count > 0 ? flags.Include : crawl.Include,
        Exclude = flags.Exclude.Count > 0 ? flags.Exclude : crawl.Exclude,
        FollowSitemaps = flags.Sitemaps ? true : crawl.FollowSitemaps,
        RespectNofollow = flags.NoRespectNofollow ? false : crawl.RespectNofollow,
    };

    /// <summary>The problem path of a URL file's lines ("urlsFile:12").</summary>
    public const string UrlFilePath = "urlsFile";

    /// <summary>Opens the file once now, so that a missing or unreadable file is reported before anything starts; every
    /// read error later is invalid input too, never an infrastructure failure.</summary>
    private static HostUrlList OpenUrlFile(FileInfo file)
    {
        Open(file).Dispose();
        return new HostUrlList(UrlFilePath, _ => Task.FromResult<Stream>(new InputErrorStream(Open(file), file.FullName)));
    }

    private static FileStream Open(FileInfo file)
    {
        try
        {
            return new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException($"Cannot read the URL list {file.FullName}: {ex.Message}");
        }
    }

    private static async Task<CrawlJobRequest> ReadJobFileAsync(FileInfo file, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = file.OpenRead();
            return await JsonSerializer.DeserializeAsync<CrawlJobRequest>(stream, Json, cancellationToken)
                ?? throw new CliInputException($"{file.Name}: the job file is empty (null).");
        }
        catch (JsonException ex)
        {
            throw new CliInputException($"{file.Name}: not a valid job (line {ex.LineNumber + 1}, {ex.Path}): {ex.Message}");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new CliInputException($"Cannot read the job file {file.FullName}: {ex.Message}");
        }
    }

    private static Dictionary<string, string> ParseHeaders(IReadOnlyList<string> headers, IReadOnlyDictionary<string, string>? fromFile)
    {
        var parsed = new Dictionary<string, string>(fromFile ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < headers.Count; i++)
        {
            var header = headers[i];
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                // Not echoed: without its colon, a credential ("Authorization Bearer ...") cannot be told from its name.
                throw new CliInputException($"--header number {i + 1} is not of the form 'Name: value' (its text is not shown: it may hold a credential).");
            }

            parsed[header[..colon].Trim()] = header[(colon + 1)..].Trim();
        }

        return parsed;
    }
}

/// <summary>A URL file being read: an I/O error is the user's input failing (exit 2), named by the file.</summary>
internal sealed class InputErrorStream(Stream inner, string path) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return inner.Read(buffer, offset, count);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Failed(ex);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Failed(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private CliInputException Failed(Exception ex) => new($"Cannot read the URL list {path}: {ex.Message}");
}
