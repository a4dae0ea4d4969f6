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
    public int? TimeoutSeconds { get; init; }
    public long? MaxBytes { get; init; }
    public string? UserAgent { get; init; }
    public IReadOnlyList<string> Headers { get; init; } = [];
    public IReadOnlyList<string> StoreStatuses { get; init; } = [];
    public IReadOnlyList<string> AllowNetworks { get; init; } = [];
    public int? BatchSize { get; init; }
    public int? BatchesInFlight { get; init; }
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

    public static async Task<(CrawlJobRequest Request, IReadOnlyList<string> UrlsToUpload)> BuildAsync(JobFlags flags, int maxInlineUrls, CancellationToken cancellationToken)
    {
        var request = flags.JobFile is null ? new CrawlJobRequest() : await ReadJobFileAsync(flags.JobFile, cancellationToken);
        var urls = new List<string>(request.Urls ?? []);
        urls.AddRange(flags.Urls);
        if (flags.UrlsFile is not null)
        {
            urls.AddRange(await ReadUrlListAsync(flags.UrlsFile, cancellationToken));
        }

        if (urls.Count == 0 && request.UrlListBlob is null)
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
            TotalTimeoutSeconds = flags.TimeoutSeconds ?? options.TotalTimeoutSeconds,
            MaxBodyBytes = flags.MaxBytes ?? options.MaxBodyBytes,
            UserAgent = flags.UserAgent ?? options.UserAgent,
            Headers = flags.Headers.Count > 0 ? ParseHeaders(flags.Headers, options.Headers) : options.Headers,
            StoreStatuses = flags.StoreStatuses.Count > 0 ? flags.StoreStatuses : options.StoreStatuses,
            AllowedNetworks = flags.AllowNetworks.Count > 0 ? flags.AllowNetworks : options.AllowedNetworks,
            BatchSize = flags.BatchSize ?? options.BatchSize,
            MaxBatchesInFlight = flags.BatchesInFlight ?? options.MaxBatchesInFlight,
        };

        // Big lists go through a blob (claim-check), exactly as a big HTTP submission would; a job file that already
        // names a list blob keeps it, and Core reports URLs given beside it.
        var upload = urls.Count > maxInlineUrls && request.UrlListBlob is null;
        request = request with
        {
            JobId = flags.JobId ?? request.JobId,
            Urls = upload || urls.Count == 0 ? null : urls,
            Options = options,
        };
        return (request, upload ? urls : []);
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

    private static async Task<List<string>> ReadUrlListAsync(FileInfo file, CancellationToken cancellationToken)
    {
        try
        {
            var urls = new List<string>();
            await foreach (var line in File.ReadLinesAsync(file.FullName, cancellationToken))
            {
                var url = line.Trim();
                if (url.Length > 0 && !url.StartsWith('#'))
                {
                    urls.Add(url);
                }
            }

            return urls;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new CliInputException($"Cannot read the URL list {file.FullName}: {ex.Message}");
        }
    }

    private static Dictionary<string, string> ParseHeaders(IReadOnlyList<string> headers, IReadOnlyDictionary<string, string>? fromFile)
    {
        var parsed = new Dictionary<string, string>(fromFile ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        foreach (var header in headers)
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new CliInputException($"--header '{header}' is not of the form 'Name: value'.");
            }

            parsed[header[..colon].Trim()] = header[(colon + 1)..].Trim();
        }

        return parsed;
    }
}
