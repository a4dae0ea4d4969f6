using System.Text;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Jobs;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class CrawlJobValidatorTests
{
    private static CrawlJobValidator CreateSut(Action<CrawlOptions>? crawl = null, Action<FetchOptions>? fetch = null)
    {
        var crawlOptions = new CrawlOptions();
        crawl?.Invoke(crawlOptions);
        var fetchOptions = new FetchOptions();
        fetch?.Invoke(fetchOptions);
        return new CrawlJobValidator(Options.Create(crawlOptions), Options.Create(fetchOptions));
    }

    private static Task<JobValidation> ValidateAsync(CrawlJobValidator sut, CrawlJobRequest request, Dictionary<string, string>? blobs = null) =>
        sut.ValidateAsync(request, (name, _) => Task.FromResult<IUrlSource?>(blobs is not null && blobs.TryGetValue(name, out var text)
            ? new TextUrlSource(_ => Task.FromResult<Stream>(new MemoryStream(Encoding.UTF8.GetBytes(text))), 2048)
            : null), CancellationToken.None);

    private static CrawlJobRequest Job(params string[] urls) => new() { Urls = urls };

    private static CrawlJobRequest Job(CrawlJobOptions options) => new() { Urls = ["https://example.com/"], Options = options };

    private static ValidationProblem Single(JobValidation validation) => Assert.Single(validation.Problems);

    [Fact]
    public async Task ValidateAsync_ValidInlineJob_CountsUniqueUrlsAndDuplicates()
    {
        var result = await ValidateAsync(CreateSut(), Job("http://a.example/", "HTTP://A.EXAMPLE:80/#top", "https://b.example/x", "http://a.example"));

        Assert.True(result.IsValid);
        Assert.Equal(new UrlScan(2, 2, 4, false), result.Scan! with { Fingerprints = null });
    }

    [Fact]
    public async Task ValidateAsync_InlineUrlWithSurroundingSpaces_IsMeasuredTrimmedAsInAListBlob()
    {
        const string url = "https://example.com/abc";
        var sut = CreateSut(c => c.MaxUrlLength = url.Length);
        var padded = Job($"  {url}  ");

        var inline = await ValidateAsync(sut, padded);
        var listed = await ValidateAsync(sut, new CrawlJobRequest { UrlListBlob = "_uploads/list.txt" }, new() { ["_uploads/list.txt"] = $"  {url}  \n" });

        Assert.True(inline.IsValid, string.Join("; ", inline.Problems));
        Assert.True(listed.IsValid, string.Join("; ", listed.Problems));
    }

    [Fact]
    public async Task ValidateAsync_NoOptions_TakesOperatorDefaults()
    {
        var result = await ValidateAsync(CreateSut(c => c.BatchSize = 7, f => f.MaxRetries = 2), Job("https://example.com/"));

        Assert.True(result.IsValid);
        Assert.Equal(7, result.Settings.BatchSize);
        Assert.Equal(2, result.Settings.MaxRetries);
        Assert.Equal(new FetchOptions().UserAgent, result.Settings.UserAgent);
        Assert.Equal(["200-299"], result.Settings.StoreStatuses);
        Assert.Empty(result.Settings.AllowedNetworks);
    }

    [Fact]
    public async Task ValidateAsync_TighterOptions_AreTheEffectiveSettings()
    {
        var options = new CrawlJobOptions
        {
            MaxConcurrency = 8, MaxConcurrencyPerHost = 2, PerHostDelayMilliseconds = 250, AttemptTimeoutSeconds = 5, TotalTimeoutSeconds = 20,
            FetchDeadlineSeconds = 30, MaxRetries = 1, MaxBodyBytes = 1024, UserAgent = "MyBot/2", Headers = new Dictionary<string, string> { ["X-Trace"] = "a b" },
            StoreStatuses = ["200", "404"], MaxRedirects = 2, AllowedNetworks = ["127.0.0.1/32"], BatchSize = 10, MaxBatchesInFlight = 3,
        };

        var result = await ValidateAsync(CreateSut(fetch: f => f.AllowedNetworks = ["127.0.0.0/8"]), Job(options));

        Assert.Empty(result.Problems);
        Assert.Equal(new JobSettings
        {
            MaxConcurrency = 8, MaxConcurrencyPerHost = 2, PerHostDelay = TimeSpan.FromMilliseconds(250), AttemptTimeout = TimeSpan.FromSeconds(5),
            TotalTimeout = TimeSpan.FromSeconds(20), FetchDeadline = TimeSpan.FromSeconds(30), MaxRetries = 1, MaxBodyBytes = 1024, UserAgent = "MyBot/2", Headers = result.Settings.Headers,
            StoreStatuses = result.Settings.StoreStatuses, MaxRedirects = 2, AllowedNetworks = result.Settings.AllowedNetworks, BatchSize = 10,
            MaxBatchesInFlight = 3, Store = StoreKinds.Warc,
        }, result.Settings);
        Assert.Equal("a b", result.Settings.Headers["x-trace"]);
        Assert.Equal(["200", "404"], result.Settings.StoreStatuses);
        Assert.Equal(["127.0.0.1/32"], result.Settings.AllowedNetworks);
    }

    [Theory]
    [InlineData("job-1_A")]
    [InlineData("0")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")]
    public async Task ValidateAsync_SafeJobId_IsAccepted(string jobId) =>
        Assert.True((await ValidateAsync(CreateSut(), Job("https://example.com/") with { JobId = jobId })).IsValid);

    [Theory]
    [InlineData("")]
    [InlineData("-leading")]
    [InlineData("_leading")]
    [InlineData("has/slash")]
    [InlineData("has:colon")]
    [InlineData("has space")]
    [InlineData("ünïcode")]
    [InlineData("a2345678901234567890123456789012345678901234567890123456789012345")]
    public async Task ValidateAsync_UnsafeJobId_ReportsJobId(string jobId)
    {
        var problem = Single(await ValidateAsync(CreateSut(), Job("https://example.com/") with { JobId = jobId }));

        Assert.Equal("jobId", problem.Path);
        Assert.Equal(jobId, problem.Value);
    }

    [Fact]
    public async Task ValidateAsync_NoUrlsAtAll_ReportsUrlsRequired()
    {
        var problem = Single(await ValidateAsync(CreateSut(), new CrawlJobRequest()));

        Assert.Equal("urls", problem.Path);
        Assert.StartsWith("is required", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_EmptyUrlList_ReportsNoUrls()
    {
        var problem = Single(await ValidateAsync(CreateSut(), Job()));

        Assert.Equal(new ValidationProblem("urls", null, "lists no URLs; a job needs at least one."), problem);
    }

    [Fact]
    public async Task ValidateAsync_InlineUrlsAndBlob_ReportsBoth()
    {
        var problem = Single(await ValidateAsync(CreateSut(), Job("https://example.com/") with { UrlListBlob = "_uploads/list.txt" }));

        Assert.Equal("urlListBlob", problem.Path);
    }

    [Fact]
    public async Task ValidateAsync_MoreInlineUrlsThanAllowed_ReportsCount()
    {
        var urls = Enumerable.Range(0, 4).Select(i => $"https://example.com/{i}").ToArray();

        var problem = Single(await ValidateAsync(CreateSut(c => c.MaxInlineUrls = 3), Job(urls)));

        Assert.Equal("urls", problem.Path);
        Assert.Equal("4", problem.Value);
    }

    [Fact]
    public async Task ValidateAsync_BadUrls_ReportsEachWithItsIndex()
    {
        var result = await ValidateAsync(CreateSut(c => c.AllowedPorts = [80, 443]), Job(
            "https://ok.example/", "ftp://example.com/", "https://user:pw@example.com/", "http://example.com:8080/", "nonsense",
            "https://example.com/" + new string('a', 2100), "https://ok.example/"));

        Assert.Equal(["urls[1]", "urls[2]", "urls[3]", "urls[4]", "urls[5]"], result.Problems.Select(p => p.Path));
        Assert.Equal(1, result.Scan!.DuplicatesRemoved);
    }

    [Fact]
    public async Task ValidateAsync_ManyBadUrls_ListsCapAndCountsTheRest()
    {
        var urls = Enumerable.Range(0, ProblemList.MaxListedUrlProblems + 500).Select(i => $"ftp://example.com/{i}").ToArray();

        var result = await ValidateAsync(CreateSut(), Job(urls));

        Assert.Equal(ProblemList.MaxListedUrlProblems + 1, result.Problems.Count);
        Assert.Equal(new ValidationProblem("urls", "500", "500 more invalid URLs are not listed (1500 in all)."), result.Problems[^1]);
    }

    [Fact]
    public async Task ValidateAsync_FetchDeadlineBelowTheOperatorsTotalTimeout_IsAcceptedAndCutsEveryPhase()
    {
        var result = await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { FetchDeadlineSeconds = 5 }));

        Assert.Empty(result.Problems);
        Assert.Equal(TimeSpan.FromSeconds(5), result.Settings.FetchDeadline);
    }

    [Fact]
    public async Task ValidateAsync_FetchDeadlineBelowTheJobsOwnTotalTimeout_ReportsTheDeadline()
    {
        var problem = Single(await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { TotalTimeoutSeconds = 30, FetchDeadlineSeconds = 20 })));

        Assert.Equal(("options.fetchDeadlineSeconds", "20"), (problem.Path, problem.Value));
    }

    [Theory]
    [InlineData(nameof(CrawlJobOptions.MaxConcurrency), 0, "options.maxConcurrency")]
    [InlineData(nameof(CrawlJobOptions.MaxConcurrency), 17, "options.maxConcurrency")]
    [InlineData(nameof(CrawlJobOptions.MaxConcurrencyPerHost), 5, "options.maxConcurrencyPerHost")]
    [InlineData(nameof(CrawlJobOptions.PerHostDelayMilliseconds), -1, "options.perHostDelayMilliseconds")]
    [InlineData(nameof(CrawlJobOptions.PerHostDelayMilliseconds), 60_001, "options.perHostDelayMilliseconds")]
    [InlineData(nameof(CrawlJobOptions.AttemptTimeoutSeconds), 0, "options.attemptTimeoutSeconds")]
    [InlineData(nameof(CrawlJobOptions.AttemptTimeoutSeconds), 11, "options.attemptTimeoutSeconds")]
    [InlineData(nameof(CrawlJobOptions.TotalTimeoutSeconds), 61, "options.totalTimeoutSeconds")]
    [InlineData(nameof(CrawlJobOptions.FetchDeadlineSeconds), 0, "options.fetchDeadlineSeconds")]
    [InlineData(nameof(CrawlJobOptions.FetchDeadlineSeconds), 121, "options.fetchDeadlineSeconds")]
    [InlineData(nameof(CrawlJobOptions.MaxRetries), -1, "options.maxRetries")]
    [InlineData(nameof(CrawlJobOptions.MaxRetries), 4, "options.maxRetries")]
    [InlineData(nameof(CrawlJobOptions.MaxBodyBytes), 0, "options.maxBodyBytes")]
    [InlineData(nameof(CrawlJobOptions.MaxBodyBytes), 256L * 1024 * 1024 + 1, "options.maxBodyBytes")]
    [InlineData(nameof(CrawlJobOptions.MaxRedirects), 6, "options.maxRedirects")]
    [InlineData(nameof(CrawlJobOptions.BatchSize), 0, "options.batchSize")]
    [InlineData(nameof(CrawlJobOptions.BatchSize), 501, "options.batchSize")]
    [InlineData(nameof(CrawlJobOptions.MaxBatchesInFlight), 9, "options.maxBatchesInFlight")]
    public async Task ValidateAsync_OptionBeyondOperatorLimit_ReportsOption(string option, long value, string path)
    {
        var property = typeof(CrawlJobOptions).GetProperty(option)!;
        var options = new CrawlJobOptions();
        property.SetValue(options, property.PropertyType == typeof(long?) ? value : (object)(int)value);

        var problem = Single(await ValidateAsync(CreateSut(), Job(options)));

        Assert.Equal(path, problem.Path);
        Assert.Equal(value.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.Value);
    }

    [Fact]
    public async Task ValidateAsync_AttemptTimeoutNotBelowTotal_ReportsTotalTimeout()
    {
        var problem = Single(await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { AttemptTimeoutSeconds = 5, TotalTimeoutSeconds = 5 })));

        Assert.Equal("options.totalTimeoutSeconds", problem.Path);
        Assert.Contains("must be less than the total timeout", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_PerHostDelayBelowOperatorDelay_IsNotATightening()
    {
        var sut = CreateSut(c => c.PerHostDelay = TimeSpan.FromMilliseconds(100));

        Assert.Equal("options.perHostDelayMilliseconds",
            Single(await ValidateAsync(sut, Job(new CrawlJobOptions { PerHostDelayMilliseconds = 50 }))).Path);
        Assert.True((await ValidateAsync(sut, Job(new CrawlJobOptions { PerHostDelayMilliseconds = 150 }))).IsValid);
    }

    [Theory]
    [InlineData("Bot\r\nX-Injected: 1")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Bötli")]
    public async Task ValidateAsync_BadUserAgent_ReportsUserAgent(string userAgent) =>
        Assert.Equal("options.userAgent", Single(await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { UserAgent = userAgent }))).Path);

    [Theory]
    [InlineData("Host", "evil.example")]
    [InlineData("content-length", "0")]
    [InlineData("Transfer-Encoding", "chunked")]
    [InlineData("Connection", "close")]
    [InlineData("Upgrade", "h2c")]
    [InlineData("User-Agent", "x")]
    [InlineData("Accept-Encoding", "zstd")]
    [InlineData("Bad Name", "x")]
    [InlineData("X-Split", "a\r\nHost: evil.example")]
    [InlineData("X-Nul", "a\0b")]
    public async Task ValidateAsync_BadHeader_ReportsHeader(string name, string value)
    {
        var options = new CrawlJobOptions { Headers = new Dictionary<string, string> { [name] = value, ["X-Fine"] = "yes" } };

        var problem = Single(await ValidateAsync(CreateSut(), Job(options)));

        Assert.Equal($"options.headers['{name}']", problem.Path);
    }

    [Fact]
    public async Task ValidateAsync_HeaderNamesDifferingOnlyInCase_ReportsRepeat()
    {
        var options = new CrawlJobOptions { Headers = new Dictionary<string, string> { ["X-A"] = "1", ["x-a"] = "2" } };

        var problem = Single(await ValidateAsync(CreateSut(), Job(options)));

        Assert.StartsWith("repeats", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_BadStoreStatuses_ReportsEachItem()
    {
        var result = await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { StoreStatuses = ["200-299", "abc", "600", "300-200"] }));

        Assert.Equal(["options.storeStatuses[1]", "options.storeStatuses[2]", "options.storeStatuses[3]"], result.Problems.Select(p => p.Path));
    }

    [Fact]
    public async Task ValidateAsync_EmptyStoreStatuses_StoresNoBodies()
    {
        var result = await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { StoreStatuses = [] }));

        Assert.True(result.IsValid);
        Assert.Empty(result.Settings.StoreStatuses);
    }

    [Fact]
    public async Task ValidateAsync_AllowedNetworksBeyondOperators_ReportsEach()
    {
        var sut = CreateSut(fetch: f => f.AllowedNetworks = ["127.0.0.0/8", "::1/128"]);

        var result = await ValidateAsync(sut, Job(new CrawlJobOptions
        {
            AllowedNetworks = ["127.0.0.1/32", "::1/128", "10.0.0.0/8", "0.0.0.0/0", "127.0.0.0/7", "not-a-network", "127.0.0.1", "127.0.0.1/8"],
        }));

        Assert.Equal(["options.allowedNetworks[2]", "options.allowedNetworks[3]", "options.allowedNetworks[4]", "options.allowedNetworks[5]",
            "options.allowedNetworks[6]"], result.Problems.Select(p => p.Path));
        Assert.Equal(["127.0.0.1/32", "::1/128", "127.0.0.0/8"], result.Settings.AllowedNetworks);
    }

    [Fact]
    public async Task ValidateAsync_AllowedNetworksWhenOperatorAllowsNone_ReportsIt()
    {
        var problem = Single(await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { AllowedNetworks = ["127.0.0.1/32"] })));

        Assert.Contains("allows no networks", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_TooManyBatchesForShardCap_ReportsBatchSize()
    {
        var urls = Enumerable.Range(0, CrawlOptions.MaxShardsPerJob + 1).Select(i => $"https://example.com/{i}").ToArray();

        var problem = Single(await ValidateAsync(CreateSut(c => c.BatchesPerShard = 1), Job(urls) with { Options = new() { BatchSize = 1 } }));

        Assert.Equal("options.batchSize", problem.Path);
    }

    [Fact]
    public async Task ValidateAsync_UrlListBlob_SkipsBlankAndCommentLinesAndReportsLineNumbers()
    {
        var list = "# seed list\nhttps://a.example/\n\n  https://b.example/  \r\nftp://c.example/\nhttps://A.example:443/\n";

        var result = await ValidateAsync(CreateSut(), new CrawlJobRequest { UrlListBlob = "_uploads/seed.txt" },
            new() { ["_uploads/seed.txt"] = list });

        Assert.Equal(new ValidationProblem("urlListBlob:5", "ftp://c.example/", "has the scheme 'ftp'; only http and https are allowed."),
            Single(result));
        Assert.Equal(new UrlScan(2, 1, 4, false), result.Scan! with { Fingerprints = null });
    }

    [Fact]
    public async Task ValidateAsync_UrlListBlobWithHugeLine_ReportsLengthWithoutKeepingLine()
    {
        var list = "https://a.example/\nhttps://a.example/" + new string('x', 1_000_000) + "\n";

        var problem = Single(await ValidateAsync(CreateSut(), new CrawlJobRequest { UrlListBlob = "_uploads/big.txt" }, new() { ["_uploads/big.txt"] = list }));

        Assert.Equal("urlListBlob:2", problem.Path);
        Assert.Equal("is 1000018 characters long; at most 2048 are allowed.", problem.Reason);
        Assert.True(problem.Value!.Length <= 201);
    }

    [Theory]
    [InlineData("other-job/job.json")]
    [InlineData("_uploads/../other-job/job.json")]
    [InlineData("_uploads/./list.txt")]
    [InlineData("_uploads\\list.txt")]
    [InlineData("_uploads/")]
    public async Task ValidateAsync_UrlListBlobOutsideTheUploadPrefix_ReportsItWithoutOpeningIt(string blobName)
    {
        var opened = false;

        var result = await CreateSut().ValidateAsync(new CrawlJobRequest { UrlListBlob = blobName }, (_, _) =>
        {
            opened = true;
            return Task.FromResult<IUrlSource?>(null);
        }, CancellationToken.None);

        Assert.Equal(("urlListBlob", blobName), (Single(result).Path, Single(result).Value));
        Assert.False(opened);
    }

    [Fact]
    public async Task ValidateAsync_HostUrlListAfterInlineUrls_ReportsEachByItsOwnPath()
    {
        var file = new TextUrlSource(_ => Task.FromResult<Stream>(new MemoryStream("https://b.example/\nftp://c.example/\n"u8.ToArray())), 2048, "urlsFile");

        var result = await CreateSut().ValidateAsync(Job("mailto:a@example.com", "https://a.example/"),
            (_, _) => Task.FromResult<IUrlSource?>(null), CancellationToken.None, file);

        Assert.Equal(["urls[0]", "urlsFile:2"], result.Problems.Select(p => p.Path));
        Assert.Equal(2, result.Scan!.UniqueUrls);
    }

    [Fact]
    public async Task ValidateAsync_HostUrlListWithoutLineEnds_StopsReadingAndReportsIt()
    {
        var endless = new TextUrlSource(_ => Task.FromResult<Stream>(new MemoryStream(new byte[3 * TextUrlSource.MaxScannedLineLength])), 2048, "urlsFile");

        var result = await CreateSut().ValidateAsync(new CrawlJobRequest(), (_, _) => Task.FromResult<IUrlSource?>(null), CancellationToken.None, endless);

        var problem = Single(result);
        Assert.Equal("urlsFile:1", problem.Path);
        Assert.Contains("reading stopped", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_MalformedCredentialHeader_ReportsItWithoutItsValue()
    {
        var headers = new Dictionary<string, string> { ["Authorization"] = "Bearer sekrit\n", ["X-Trace"] = "bad\n" };

        var result = await ValidateAsync(CreateSut(), Job(new CrawlJobOptions { Headers = headers }));

        Assert.Equal([("options.headers['Authorization']", SensitiveHeaders.Redacted), ("options.headers['X-Trace']", "bad\n")],
            result.Problems.Select(p => (p.Path, p.Value)));
    }

    [Fact]
    public async Task ValidateAsync_MissingUrlListBlob_ReportsIt()
    {
        var problem = Single(await ValidateAsync(CreateSut(), new CrawlJobRequest { UrlListBlob = "_uploads/missing.txt" }, []));

        Assert.Equal(new ValidationProblem("urlListBlob", "_uploads/missing.txt", "names no blob in the crawl container."), problem);
    }

    [Fact]
    public async Task ValidateAsync_UrlListBeyondMaxUrls_StopsReadingAndReportsIt()
    {
        var list = string.Join('\n', Enumerable.Range(0, 50).Select(i => $"https://example.com/{i}"));

        var result = await ValidateAsync(CreateSut(c => { c.MaxUrls = 10; c.MaxInlineUrls = 10; }), new CrawlJobRequest { UrlListBlob = "_uploads/l" },
            new() { ["_uploads/l"] = list });

        Assert.Equal("urlListBlob", Single(result).Path);
        Assert.StartsWith("has more than 10 URLs", Single(result).Reason, StringComparison.Ordinal);
        Assert.True(result.Scan!.StoppedEarly);
        Assert.Equal(11, result.Scan.Entries);
    }

    [Fact]
    public async Task ValidateAsync_JobWithManyProblems_ReportsAllAtOnce()
    {
        var request = new CrawlJobRequest
        {
            JobId = "bad id",
            Urls = ["https://ok.example/", "gopher://x.example/", "https://u:p@x.example/", "", "https://ok.example/#dup"],
            Options = new CrawlJobOptions
            {
                MaxRetries = 99,
                TotalTimeoutSeconds = 0,
                UserAgent = "a\nb",
                Headers = new Dictionary<string, string> { ["Host"] = "x" },
                StoreStatuses = ["999"],
                AllowedNetworks = ["10.0.0.0/8"],
                MaxBatchesInFlight = 0,
            },
        };

        var result = await ValidateAsync(CreateSut(), request);

        Assert.Equal(
        [
            "jobId", "options.totalTimeoutSeconds", "options.maxRetries", "options.maxBatchesInFlight", "options.userAgent", "options.headers['Host']",
            "options.storeStatuses[0]", "options.allowedNetworks[0]", "urls[1]", "urls[2]", "urls[3]",
        ], result.Problems.Select(p => p.Path));
        Assert.All(result.Problems, p => Assert.False(string.IsNullOrWhiteSpace(p.Reason)));
        Assert.Equal(1, result.Scan!.DuplicatesRemoved);
    }
}
