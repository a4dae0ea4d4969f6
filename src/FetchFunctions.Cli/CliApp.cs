using System.CommandLine;
using System.Globalization;
using Azure;
using FetchFunctions.Cli.Demo;
using FetchFunctions.Cli.LocalStorage;
using FetchFunctions.Cli.Output;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace FetchFunctions.Cli;

/// <summary>The command line: <c>crawl</c>, <c>enqueue</c>, <c>status</c>, <c>get</c>, <c>export</c> and <c>demo</c>.
/// <paramref name="standardOutput"/> opens the byte stream <c>get</c> writes a body to (stdout unless a test gives one).</summary>
internal sealed partial class CliApp(IAnsiConsole output, IAnsiConsole error, IReadOnlyDictionary<string, string?> environment, Func<Stream>? standardOutput = null)
{
    // The operator's defaults (Core's options, as the environment sets them) are shown in --help beside each job option.
    private readonly OperatorDefaults _defaults = DefaultsFrom(environment);
    private readonly Option<string[]> _url = new("--url") { Description = "A URL to fetch (repeatable).", AllowMultipleArgumentsPerToken = true };
    private readonly Option<FileInfo?> _urlsFile = new("--urls-file") { Description = "A text file with one URL per line (# starts a comment), read as a stream: validated before anything is stored, then stored as the job's urls.txt." };
    private readonly Option<string?> _jobId = new("--job-id") { Description = "The job id; generated when absent. An interrupted or failed job run again under its id resumes; an active or completed one is refused (exit 2)." };
    private readonly Option<int?> _concurrency = new("--concurrency");
    private readonly Option<int?> _perHost = new("--per-host");
    private readonly Option<int?> _perHostDelay = new("--per-host-delay-ms");
    private readonly Option<int?> _retries = new("--retries");
    private readonly Option<int?> _attemptTimeout = new("--attempt-timeout");
    private readonly Option<int?> _timeout = new("--total-timeout", "--timeout");
    private readonly Option<int?> _fetchDeadline = new("--fetch-deadline");
    private readonly Option<long?> _maxBytes = new("--max-bytes");
    private readonly Option<string?> _userAgent = new("--user-agent");
    private readonly Option<string[]> _header = new("--header") { Description = "An extra request header 'Name: value' (repeatable; default: none). Values of credential headers are never printed or logged." };
    private readonly Option<string[]> _storeStatus = new("--store-status");
    private readonly Option<string?> _store = new("--store");
    private readonly Option<string[]> _allowNetwork = new("--allow-network");
    private readonly Option<int?> _batchSize = new("--batch-size");
    private readonly Option<int?> _batchesInFlight = new("--batches-in-flight");
    private readonly Option<int?> _depth = new("--depth");
    private readonly Option<int?> _maxPages = new("--max-pages");
    private readonly Option<string[]> _scope = new("--scope") { Description = "What discovered links may be followed: host (the default: a seed's host), prefix (a seed's URL up to its last '/'), or host names, *.example.org for its subdomains (repeatable)." };
    private readonly Option<string[]> _include = new("--include") { Description = "Follow only discovered URLs matching one of these globs ('*' matches anything; repeatable; default: all)." };
    private readonly Option<string[]> _exclude = new("--exclude") { Description = "Never follow discovered URLs matching one of these globs ('*' matches anything; repeatable; default: none)." };
    private readonly Option<bool> _sitemaps = new("--sitemaps") { Description = "URLs in the seeds' sitemaps (robots.txt Sitemap: lines, else /sitemap.xml) and in scope are seeds too (default: off)." };
    private readonly Option<bool> _noRespectNofollow = new("--no-respect-nofollow") { Description = "Follow rel=\"nofollow\" links and links of nofollow pages (meta robots, X-Robots-Tag) too (default: they are counted, not followed)." };
    private readonly Option<double?> _failAbove = new("--fail-above") { Description = "Exit 1 when the share of failed URLs is above this (0 to 1)." };
    private readonly Option<string?> _connectionString = new("--connection-string") { Description = "Storage connection string (default: AZURE_STORAGE_CONNECTION_STRING, AzureWebJobsStorage, else local Azurite)." };
    private readonly Option<string> _data = new("--azurite-data") { Description = "Where an Azurite started by the CLI keeps its data.", DefaultValueFactory = _ => ".azurite" };
    private readonly Option<string?> _otlpEndpoint = new("--otlp-endpoint") { Description = "Send the job's traces and metrics over OTLP to this endpoint, e.g. http://127.0.0.1:4318 (http/protobuf; grpc when OTEL_EXPORTER_OTLP_PROTOCOL=grpc). Default: OTEL_EXPORTER_OTLP_ENDPOINT, else no export." };
    private readonly Argument<FileInfo?> _jobFile = new("job") { Description = "A job file (JSON: jobId, urls or urlListBlob, options).", Arity = ArgumentArity.ZeroOrOne };
    private readonly Argument<string> _statusJobId = new("jobId") { Description = "The job's id." };
    private readonly Option<int> _demoUrls = new("--urls") { Description = "URLs in the demo's list job (a crawl with link discovery of a generated site of 326 pages follows it).", DefaultValueFactory = _ => 1000 };

    private static readonly Dictionary<string, string?> NoSettings = [];

    /// <summary>The width given to a console that writes to a file or pipe, so that messages keep one line each.</summary>
    internal const int UnfoldedWidth = 4096;

    public static async Task<int> Main(string[] args)
    {
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => e.Value as string, StringComparer.Ordinal);
        var error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

        // Redirected output goes to logs and scripts: a message or a blob name stays on one line, never folded at 80 columns.
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Console.Profile.Width = UnfoldedWidth;
        }

        if (Console.IsErrorRedirected)
        {
            error.Profile.Width = UnfoldedWidth;
        }

        var app = new CliApp(AnsiConsole.Console, error, environment);
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl+C cancels the job cleanly; a second one ends the process.
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        return await app.RunAsync(args, cancellation.Token);
    }

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var root = BuildCommands();
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var parseError in parsed.Errors)
            {
                error.MarkupLine($"[red]error:[/] {Markup.Escape(parseError.Message)}");
            }

            error.MarkupLine("Run with --help for usage.");
            return ExitCodes.InvalidInput;
        }

        var invocation = new InvocationConfiguration { Output = new ConsoleWriter(output), Error = new ConsoleWriter(error), EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return await parsed.InvokeAsync(invocation, cancellationToken);
        }
        catch (CliInputException ex)
        {
            error.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return ExitCodes.InvalidInput;
        }
        catch (OptionsValidationException ex)
        {
            error.MarkupLine("[red]error:[/] the configuration is invalid:");
            foreach (var failure in ex.Failures)
            {
                error.MarkupLine($"  {Markup.Escape(failure)}");
            }

            return ExitCodes.InvalidInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.MarkupLine("[yellow]Cancelled.[/]");
            return ExitCodes.Cancelled;
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or InvalidOperationException or AggregateException or IOException or InvalidDataException)
        {
            error.MarkupLine($"[red]infrastructure failure:[/] {Markup.Escape(ex.Message)}");
            return ExitCodes.InfrastructureFailure;
        }
    }

    private RootCommand BuildCommands()
    {
        DescribeJobOptions();
        // An optional file argument would otherwise swallow a mistyped option ("--no-such-opt") as a file name.
        _jobFile.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value: ['-', _, ..] token }])
            {
                result.AddError($"Unrecognized option '{token}'.");
            }
        });

        var root = new RootCommand("FetchFunctions: crawl jobs that fetch URLs and stream every body into Blob storage.");
        var jobOptions = new Option[] { _url, _urlsFile, _jobId, _concurrency, _perHost, _perHostDelay, _retries, _attemptTimeout, _timeout, _fetchDeadline, _maxBytes, _userAgent, _header, _storeStatus, _store, _allowNetwork, _batchSize, _batchesInFlight, _depth, _maxPages, _scope, _include, _exclude, _sitemaps, _noRespectNofollow, _connectionString, _data };

        var crawl = new Command("crawl", "Run a job in this process (the same orchestration logic as the Durable app) with live progress and a summary.");
        crawl.Arguments.Add(_jobFile);
        foreach (var option in jobOptions)
        {
            crawl.Options.Add(option);
        }

        crawl.Options.Add(_failAbove);
        crawl.Options.Add(_otlpEndpoint);
        crawl.SetAction((parse, cancellationToken) => CrawlAsync(parse, cancellationToken));

        var enqueue = new Command("enqueue", "Validate and store a job, then put it on the intake queue exactly as POST /api/crawls does.");
        enqueue.Arguments.Add(_jobFile);
        foreach (var option in jobOptions)
        {
            enqueue.Options.Add(option);
        }

        enqueue.SetAction((parse, cancellationToken) => EnqueueAsync(parse, cancellationToken));

        var status = new Command("status", "Print a stored job's summary.");
        status.Arguments.Add(_statusJobId);
        status.Options.Add(_connectionString);
        status.Options.Add(_data);
        status.SetAction((parse, cancellationToken) => StatusAsync(parse, cancellationToken));

        var demo = new Command("demo", "Start a small site on 127.0.0.1 and run two jobs on it end to end: a list of URLs, then a crawl with link discovery (no other address is contacted).");
        demo.Options.Add(_demoUrls);
        demo.Options.Add(_connectionString);
        demo.Options.Add(_data);
        demo.Options.Add(_failAbove);
        demo.Options.Add(_otlpEndpoint);
        demo.SetAction((parse, cancellationToken) => DemoAsync(parse, cancellationToken));

        root.Subcommands.Add(crawl);
        root.Subcommands.Add(enqueue);
        root.Subcommands.Add(status);
        AddReadbackCommands(root);
        root.Subcommands.Add(demo);
        return root;
    }

    /// <summary>Each job option with the operator's value it defaults to (and may only tighten), named by its setting.</summary>
    private void DescribeJobOptions()
    {
        var d = _defaults;
        _concurrency.Description = $"Fetches in flight per lane call (one host group's batches, fetched continuously) (default: {d.MaxConcurrency} (Crawl:MaxConcurrency), also the most allowed).";
        _perHost.Description = $"Fetches in flight per host, across the whole job (default: {d.MaxConcurrencyPerHost} (Crawl:MaxConcurrencyPerHost)).";
        _perHostDelay.Description = $"Least milliseconds between two request starts to one host, across the whole job; a robots.txt Crawl-delay may raise it (default: {d.PerHostDelay.TotalMilliseconds:0} (Crawl:PerHostDelay)).";
        _retries.Description = $"Retries per URL on 408/429/5xx and network errors (default: {d.MaxRetries} (Fetch:MaxRetries)).";
        _attemptTimeout.Description = $"Seconds one HTTP attempt may wait for response headers (default: {Seconds(d.AttemptTimeout)} (Fetch:AttemptTimeout)).";
        _timeout.Description = $"Seconds for response headers per URL and redirect hop, all retries included; not the body (default: {Seconds(d.TotalTimeout)} (Fetch:TotalTimeout)).";
        _fetchDeadline.Description = $"Seconds for the whole fetch of one URL: redirects, retries and the body (default: {Seconds(d.FetchDeadline)} (Fetch:FetchDeadline)).";
        _maxBytes.Description = $"Largest body stored; a bigger one is stopped and reported TooLarge (default: {d.MaxBodyBytes} (Fetch:MaxBodyBytes)).";
        _userAgent.Description = $"User-Agent header (default: {d.UserAgent} (Fetch:UserAgent)).";
        _storeStatus.Description = $"Statuses whose bodies are stored, e.g. 200-299 (repeatable; default: {string.Join(",", d.StoreStatuses)} (Fetch:StoreStatuses)).";
        _store.Description = $"Where bodies go: warc (WARC/1.1 files of at most {d.WarcFileBytes} bytes (Crawl:WarcFileBytes) with a CDXJ index) or blobs (one blob per body) (default: {d.Store} (Crawl:Store)).";
        _allowNetwork.Description = "A CIDR range the SSRF guard lets through, e.g. 127.0.0.1/32 (repeatable; default: "
            + (d.AllowedNetworks.Count == 0 ? "none" : string.Join(",", d.AllowedNetworks)) + " (Fetch:AllowedNetworks)).";
        _batchSize.Description = $"URLs per batch (default: {d.BatchSize} (Crawl:BatchSize), at most {d.MaxBatchSize} (Crawl:MaxBatchSize)).";
        _batchesInFlight.Description = $"Lane calls in flight per job (each fetches one host group's batches; an independent batch is a lane of one) (default: {d.MaxBatchesInFlight} (Crawl:MaxBatchesInFlight)).";
        _depth.Description = $"Follow links this many steps from the seeds; 0 fetches the seeds only (default: no link discovery; at most {d.MaxDepth} (Crawl:MaxDepth)). Rules: docs/discovery.md.";
        _maxPages.Description = $"Pages the whole crawl fetches at most, seeds included (default: {d.MaxPages} (Crawl:MaxPages), also the most allowed).";
    }

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>The operator's defaults as the environment sets them; Core's own when a setting does not even bind (the
    /// command then reports that setting).</summary>
    private static OperatorDefaults DefaultsFrom(IReadOnlyDictionary<string, string?> environment)
    {
        try
        {
            return OperatorDefaults.From(new ConfigurationBuilder().AddInMemoryCollection(CoreHost.FromEnvironment(environment)).Build());
        }
        catch (InvalidOperationException)
        {
            return OperatorDefaults.From(new ConfigurationBuilder().Build());
        }
    }

    private async Task<int> CrawlAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var failAbove = FailAbove(parse);
        var otlp = CliTelemetry.Target(environment, parse.GetValue(_otlpEndpoint));
        await using var storage = await LocateStorageAsync(parse, cancellationToken);
        using var services = BuildCore(storage, parse.GetValue(_allowNetwork) ?? [], NoSettings);
        using var telemetry = CliTelemetry.Start(otlp);
        await using var claim = Claim(services);
        var ticket = await SubmitAsync(services, Flags(parse), cancellationToken, claim);
        if (ticket is null)
        {
            return ExitCodes.InvalidInput;
        }

        // A generated id is claimed once it exists: the run holds its lease like any other.
        await claim.ClaimAsync(ticket.JobId, cancellationToken);
        return await RunAndReportAsync(services, ticket, failAbove, cancellationToken);
    }

    private async Task<int> EnqueueAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        await using var storage = await LocateStorageAsync(parse, cancellationToken);
        using var services = BuildCore(storage, parse.GetValue(_allowNetwork) ?? [], NoSettings);
        await using var claim = Claim(services);
        var ticket = await SubmitAsync(services, Flags(parse), cancellationToken, claim);
        if (ticket is null)
        {
            return ExitCodes.InvalidInput;
        }

        await services.GetRequiredService<ICrawlIntake>().EnqueueAsync(ticket, cancellationToken);
        output.MarkupLine($"Enqueued job [bold]{Markup.Escape(ticket.JobId)}[/] ({Markup.Escape(ticket.JobBlobName)}).");
        output.WriteLine(ticket.JobId);
        return ExitCodes.Success;
    }

    private async Task<int> StatusAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var jobId = parse.GetValue(_statusJobId)!;
        await using var storage = await LocateStorageAsync(parse, cancellationToken);
        using var services = BuildCore(storage, [], NoSettings);
        var summary = await services.GetRequiredService<ICrawlIntake>().GetSummaryAsync(jobId, cancellationToken);
        if (summary is null)
        {
            error.MarkupLine($"No summary is stored for job [bold]{Markup.Escape(jobId)}[/] (unknown, or still running).");
            return ExitCodes.NotFound;
        }

        SummaryPrinter.Print(output, summary);
        return ExitCodes.Success;
    }

    private async Task<int> DemoAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var count = parse.GetValue(_demoUrls);
        if (count is < 1 or > 100_000)
        {
            throw new CliInputException("--urls must be between 1 and 100000.");
        }

        var failAbove = FailAbove(parse);
        var otlp = CliTelemetry.Target(environment, parse.GetValue(_otlpEndpoint));

        await using var site = await DemoSite.StartAsync(cancellationToken);
        await using var storage = await LocateStorageAsync(parse, cancellationToken);
        const string loopbackOnly = "127.0.0.1/32";
        // The demo site is on loopback, which the SSRF guard blocks by default: open exactly that address.
        using var services = BuildCore(storage, [loopbackOnly], new Dictionary<string, string?>
        {
            ["Crawl:MaxConcurrencyPerHost"] = "16",
            ["Fetch:MaxBodyBytes"] = (1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Fetch:RetryBaseDelay"] = "00:00:00.050",
        });
        using var telemetry = CliTelemetry.Start(otlp);
        output.MarkupLine($"Demo site at {Markup.Escape(site.BaseUri.AbsoluteUri)}: {count} URLs (pages, 404s, a 500 that heals, redirects, slow pages, bodies over the 1 MiB cap).");
        var flags = new JobFlags { Urls = site.Urls(count), AllowNetworks = [loopbackOnly] };
        var ticket = await SubmitAsync(services, flags, cancellationToken);
        if (ticket is null)
        {
            return ExitCodes.InvalidInput;
        }

        var exitCode = await RunAndReportAsync(services, ticket, failAbove, cancellationToken);

        // Then a crawl: from the generated site's home page, following links and the sitemap to depth 2.
        output.MarkupLine(Markup.Escape($"Crawl from {site.CrawlSeed.AbsoluteUri} following links to depth 2 and the sitemap robots.txt names "
            + $"(a generated site of {DemoSite.Sections * (DemoSite.PagesPerSection + 1) + DemoSite.Orphans + 1} pages, a section robots.txt disallows, "
            + "nofollow, out-of-scope and mailto: links)."));
        var crawlFlags = new JobFlags { Urls = [site.CrawlSeed.AbsoluteUri], Depth = 2, Sitemaps = true, AllowNetworks = [loopbackOnly] };
        var crawlTicket = await SubmitAsync(services, crawlFlags, cancellationToken);
        if (crawlTicket is null)
        {
            return ExitCodes.InvalidInput;
        }

        var crawlExitCode = await RunAndReportAsync(services, crawlTicket, failAbove, cancellationToken);

        // What a new user does next: the stored jobs outlive the demo site, so these work after it has stopped.
        var page = flags.Urls.FirstOrDefault(url => url.Contains("/page/", StringComparison.Ordinal)) ?? flags.Urls[0];
        output.MarkupLine(Markup.Escape($"Next: fetchfn status {ticket.JobId} · fetchfn get {ticket.JobId} {page} · fetchfn export {ticket.JobId} --wacz demo.wacz"
            + $" · fetchfn status {crawlTicket.JobId}"));
        return exitCode != ExitCodes.Success ? exitCode : crawlExitCode;
    }

    private async Task<int> RunAndReportAsync(ServiceProvider services, JobTicket ticket, double? failAbove, CancellationToken cancellationToken)
    {
        var runner = services.GetRequiredService<ICrawlRunner>();
        var summary = await ProgressDisplay.RunAsync(output, $"Job {ticket.JobId}", progress => runner.RunAsync(ticket, progress, cancellationToken));
        SummaryPrinter.Print(output, summary);
        var failureRate = summary.Total == 0 ? 0 : (double)summary.Failed / summary.Total;
        if (failAbove is { } threshold && failureRate > threshold)
        {
            error.MarkupLine($"[red]{failureRate:P1} of the URLs failed, above --fail-above {threshold:P1}.[/]");
            return ExitCodes.FailureRateExceeded;
        }

        return ExitCodes.Success;
    }

    /// <summary>A claim on the job id for crawl and enqueue: an active or completed job is refused before anything is stored.</summary>
    private JobClaim Claim(ServiceProvider services) =>
        new(services.GetRequiredService<IJobRunStore>(), error, services.GetRequiredService<TimeProvider>());

    private async Task<JobTicket?> SubmitAsync(ServiceProvider services, JobFlags flags, CancellationToken cancellationToken, JobClaim? claim = null)
    {
        // A URL file is read by Core as a stream (validated, then stored as the job's urls.txt): nothing is uploaded first.
        var (request, urlList) = await JobInput.BuildAsync(flags, cancellationToken);
        await (claim?.ClaimAsync(request.JobId, cancellationToken) ?? Task.CompletedTask);
        var intake = services.GetRequiredService<ICrawlIntake>();
        var result = urlList is null
            ? await intake.SubmitAsync(request, cancellationToken)
            : await intake.SubmitAsync(request, urlList, cancellationToken);
        if (!result.Accepted)
        {
            error.MarkupLine($"[red]The job is invalid ({result.Problems.Count} problem(s)); nothing was started:[/]");
            foreach (var problem in result.Problems)
            {
                // Control characters (a binary file's NULs) are shown escaped, not sent to the terminal.
                var value = problem.Value is null ? string.Empty : $" = '{Printable(problem.Value)}'";
                error.MarkupLine($"  {Markup.Escape(problem.Path)}{Markup.Escape(value)}: {Markup.Escape(problem.Reason)}");
            }

            return null;
        }

        if (result.DuplicatesRemoved > 0)
        {
            output.MarkupLine($"[grey]{result.DuplicatesRemoved} duplicate URL(s) removed.[/]");
        }

        return result.Ticket;
    }

    private static string Printable(string value) =>
        value.Any(char.IsControl) ? string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : value;

    private async Task<LocatedStorage> LocateStorageAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var locator = new StorageLocator(name => environment.GetValueOrDefault(name), error);
        return await locator.LocateAsync(parse.GetValue(_connectionString), parse.GetValue(_data)!, cancellationToken);
    }

    private ServiceProvider BuildCore(LocatedStorage storage, string[] allowNetworks, IReadOnlyDictionary<string, string?> settings)
    {
        // The CLI user is the operator: --allow-network opens the operator's allow-list as well as the job's.
        var overrides = new Dictionary<string, string?>(settings);
        for (var i = 0; i < allowNetworks.Length; i++)
        {
            overrides[string.Create(CultureInfo.InvariantCulture, $"Fetch:AllowedNetworks:{i}")] = allowNetworks[i];
        }

        var environmentSettings = CoreHost.FromEnvironment(environment);
        try
        {
            return CoreHost.Build(storage.ConnectionString, overrides, environmentSettings, new ErrorConsoleLoggerProvider(error));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException and not ArgumentNullException)
        {
            // The storage clients parse the connection string; it is not echoed, it may hold an account key.
            throw new CliInputException($"The storage connection string is malformed: {ex.Message}");
        }
        catch (Exception ex) when (UnboundSettings(ex) is { Count: > 0 } unbound)
        {
            throw new CliInputException("The configuration is invalid: " + string.Join("; ", unbound));
        }
    }

    /// <summary>The settings that did not even bind (a non-numeric or out-of-range number, a bad time span), each named with
    /// its environment variable; null when <paramref name="exception"/> is anything else.</summary>
    private static List<string>? UnboundSettings(Exception exception)
    {
        var failures = exception is AggregateException aggregate ? aggregate.Flatten().InnerExceptions : [exception];
        var settings = new List<string>();
        foreach (var failure in failures)
        {
            switch (failure)
            {
                case OptionsValidationException invalid:
                    settings.AddRange(invalid.Failures);
                    break;
                // The binder's message names the setting ("Failed to convert configuration value 'x' at 'Crawl:MaxUrls' to type 'System.Int32'.").
                case InvalidOperationException { InnerException: not null } unbound when unbound.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal):
                    var key = System.Text.RegularExpressions.Regex.Match(unbound.Message, " at '([^']+)' to type ");
                    settings.Add(key.Success
                        ? $"{unbound.Message} (environment variable {key.Groups[1].Value.Replace(":", "__", StringComparison.Ordinal)})"
                        : unbound.Message);
                    break;
                default:
                    return null;
            }
        }

        return settings;
    }

    private JobFlags Flags(ParseResult parse) => new()
    {
        JobFile = parse.GetValue(_jobFile),
        Urls = parse.GetValue(_url) ?? [],
        UrlsFile = parse.GetValue(_urlsFile),
        JobId = parse.GetValue(_jobId),
        Concurrency = parse.GetValue(_concurrency),
        PerHost = parse.GetValue(_perHost),
        PerHostDelayMilliseconds = parse.GetValue(_perHostDelay),
        Retries = parse.GetValue(_retries),
        AttemptTimeoutSeconds = parse.GetValue(_attemptTimeout),
        TotalTimeoutSeconds = parse.GetValue(_timeout),
        FetchDeadlineSeconds = parse.GetValue(_fetchDeadline),
        MaxBytes = parse.GetValue(_maxBytes),
        UserAgent = parse.GetValue(_userAgent),
        Headers = parse.GetValue(_header) ?? [],
        StoreStatuses = parse.GetValue(_storeStatus) ?? [],
        AllowNetworks = parse.GetValue(_allowNetwork) ?? [],
        BatchSize = parse.GetValue(_batchSize),
        BatchesInFlight = parse.GetValue(_batchesInFlight),
        Depth = parse.GetValue(_depth),
        MaxPages = parse.GetValue(_maxPages),
        Scope = parse.GetValue(_scope) ?? [],
        Include = parse.GetValue(_include) ?? [],
        Exclude = parse.GetValue(_exclude) ?? [],
        Sitemaps = parse.GetValue(_sitemaps),
        NoRespectNofollow = parse.GetValue(_noRespectNofollow),
        Store = parse.GetValue(_store),
    };

    private double? FailAbove(ParseResult parse)
    {
        var value = parse.GetValue(_failAbove);
        return value is null or (>= 0 and <= 1) ? value : throw new CliInputException("--fail-above must be between 0 and 1.");
    }

    /// <summary>Lets System.CommandLine's help and messages go through the same consoles as everything else.</summary>
    private sealed class ConsoleWriter(IAnsiConsole console) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => console.Write(value.ToString());

        public override void Write(string? value) => console.Write(value ?? string.Empty);

        public override void WriteLine(string? value) => console.WriteLine(value ?? string.Empty);
    }
}
