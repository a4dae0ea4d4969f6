using System.Diagnostics;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Telemetry;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FetchFunctions.Core.Tests.Telemetry;

/// <summary>Tests that listen to the process-wide source and meter run alone, so no other test's job is counted.</summary>
[CollectionDefinition(nameof(ListensToTelemetry), DisableParallelization = true)]
public sealed class ListensToTelemetry;

/// <summary>A small job through the intake, the in-process runner, the real engine, Azurite and the loopback server,
/// recorded by OpenTelemetry's SDK with the in-memory exporters.</summary>
[Collection(nameof(ListensToTelemetry))]
public sealed class CrawlTelemetryTests
{
    private const string Secret = "s3cr3t-token";
    private const string HeaderValue = "hunter2-header-value";

    private sealed record Recorded(CrawlSummary Summary, string JobId, List<Activity> Spans, Dictionary<string, MetricSnapshot> Metrics, List<string> Urls);

    /// <summary>9 URLs in 4 batches of 3 (8 URLs of one host, one of another): 5 pages, a 404, two redirects, a 503 then 200, and one on 127.0.0.2,
    /// which the job's allow-list blocks. Every URL has a secret query; every request a credential header.</summary>
    private static async Task<Recorded> RunJobAsync(IDictionary<string, string?>? settings = null)
    {
        var server = await LoopbackServer.Shared;
        var run = $"otel{Guid.NewGuid():N}"[..16];
        var urls = Enumerable.Range(0, 5).Select(i => server.Url($"/site/{run}/{i}?secret={Secret}").AbsoluteUri).ToList();
        urls.Add(server.Url($"/status/404?secret={Secret}&run={run}").AbsoluteUri);
        urls.Add(server.Url($"/redirect/2?secret={Secret}&run={run}").AbsoluteUri);
        urls.Add(server.Url($"/flaky/{run}/1/503?secret={Secret}").AbsoluteUri);
        urls.Add($"http://127.0.0.2:{server.Port}/site/{run}/blocked?secret={Secret}");

        var spans = new List<Activity>();
        var metrics = new List<MetricSnapshot>();
        await using var host = await EngineHost.StartAsync(settings);
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(FetchFunctionsTelemetry.SourceName).AddInMemoryExporter(spans).Build();
        using var metering = Sdk.CreateMeterProviderBuilder().AddMeter(FetchFunctionsTelemetry.MeterName).AddInMemoryExporter(metrics).Build();
        var intake = host.Provider.GetRequiredService<ICrawlIntake>();
        var request = new CrawlJobRequest
        {
            JobId = run,
            Urls = urls,
            Options = new CrawlJobOptions
            {
                BatchSize = 3,
                AllowedNetworks = ["127.0.0.1/32"],
                Headers = new Dictionary<string, string> { ["X-Api-Key"] = HeaderValue },
            },
        };
        var submitted = await intake.SubmitAsync(request, CancellationToken.None);
        var summary = await host.Provider.GetRequiredService<ICrawlRunner>().RunAsync(submitted.Ticket!, null, CancellationToken.None);
        tracing.ForceFlush();
        metering.ForceFlush();

        // Only this job's trace, and the last (cumulative) snapshot of each metric.
        var job = spans.Single(s => s.OperationName == CrawlTelemetry.JobSpan && (string?)s.GetTagItem(CrawlTelemetry.JobIdTag) == run);
        return new Recorded(summary, run, spans.Where(s => s.TraceId == job.TraceId).ToList(),
            metrics.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last()), urls);
    }

    private static long Sum(Dictionary<string, MetricSnapshot> metrics, string name, string? tag = null, string? value = null) =>
        metrics.TryGetValue(name, out var metric)
            ? metric.MetricPoints.Where(p => tag is null || Tags(p).Any(t => t.Key == tag && Equals(t.Value?.ToString(), value))).Sum(p => p.GetSumLong())
            : 0;

    private static List<KeyValuePair<string, object?>> Tags(MetricPoint point)
    {
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }

        return tags;
    }

    private static long HistogramCount(Dictionary<string, MetricSnapshot> metrics, string name) =>
        metrics.TryGetValue(name, out var metric) ? metric.MetricPoints.Sum(p => p.GetHistogramCount()) : 0;

    [Fact]
    public async Task RunAsync_SmallJob_OneFetchSpanPerUrlUnderItsBatchUnderItsLaneCallUnderTheJob()
    {
        var server = await LoopbackServer.Shared;

        var recorded = await RunJobAsync();

        var job = recorded.Spans.Single(s => s.OperationName == CrawlTelemetry.JobSpan);
        Assert.Equal(default, job.ParentSpanId);
        Assert.Single(recorded.Spans, s => s.OperationName == CrawlTelemetry.PlanSpan && s.ParentSpanId == job.SpanId);
        Assert.Single(recorded.Spans, s => s.OperationName == CrawlTelemetry.SummarySpan && s.ParentSpanId == job.SpanId);
        var batches = recorded.Spans.Where(s => s.OperationName == CrawlTelemetry.BatchSpan).ToList();
        Assert.Equal(4, recorded.Summary.Batches);
        Assert.Equal(recorded.Summary.Batches, batches.Count);
        var lanes = recorded.Spans.Where(s => s.OperationName == CrawlTelemetry.LaneSpan).ToList();
        Assert.NotEmpty(lanes);
        Assert.All(lanes, l => Assert.Equal(job.SpanId, l.ParentSpanId));
        Assert.All(batches, b => Assert.Single(lanes, l => l.SpanId == b.ParentSpanId));
        Assert.Equal([0, 1, 2, 3], batches.Select(b => (int)b.GetTagItem(CrawlTelemetry.BatchIndexTag)!).Order());

        var fetches = recorded.Spans.Where(s => s.OperationName == CrawlTelemetry.FetchSpan).ToList();
        Assert.Equal(recorded.Urls.Count, fetches.Count);
        Assert.All(fetches, f =>
        {
            var batch = Assert.Single(batches, b => b.SpanId == f.ParentSpanId);
            Assert.Equal(ActivityKind.Client, f.Kind);
            Assert.Equal("GET", f.GetTagItem(CrawlTelemetry.MethodTag));
            Assert.Equal(server.Port, f.GetTagItem(CrawlTelemetry.ServerPortTag));
            Assert.Equal(recorded.JobId, f.GetTagItem(CrawlTelemetry.JobIdTag));
            Assert.Equal(batch.GetTagItem(CrawlTelemetry.BatchIndexTag), f.GetTagItem(CrawlTelemetry.BatchIndexTag));
            Assert.Null(f.GetTagItem(CrawlTelemetry.FullUrlTag));
        });

        // Status, bytes, attempts and errors as the summary has them.
        Assert.Equal(7, fetches.Count(f => (int?)f.GetTagItem(CrawlTelemetry.StatusCodeTag) == 200 && f.Status == ActivityStatusCode.Unset));
        var missing = Assert.Single(fetches, f => (int?)f.GetTagItem(CrawlTelemetry.StatusCodeTag) == 404);
        Assert.Equal(("404", "HttpStatus", ActivityStatusCode.Error),
            (missing.GetTagItem(CrawlTelemetry.ErrorTypeTag), missing.GetTagItem(CrawlTelemetry.ErrorKindTag), missing.Status));
        var blocked = Assert.Single(fetches, f => (string?)f.GetTagItem(CrawlTelemetry.ServerAddressTag) == "127.0.0.2");
        Assert.Equal("BlockedByPolicy", blocked.GetTagItem(CrawlTelemetry.ErrorTypeTag));
        Assert.Empty(blocked.Events);
        Assert.Equal(recorded.Summary.Bytes, fetches.Sum(f => (long)f.GetTagItem(CrawlTelemetry.BytesTag)!));
        Assert.Equal(recorded.Summary.Attempts, fetches.Sum(f => (int)f.GetTagItem(CrawlTelemetry.AttemptsTag)!));

        // Attempts and redirect hops are events of their fetch.
        var flaky = Assert.Single(fetches, f => (int)f.GetTagItem(CrawlTelemetry.AttemptsTag)! == 2 && !f.Events.Any(e => e.Name == CrawlTelemetry.RedirectEvent));
        Assert.Equal([(1, 503), (2, 200)], flaky.Events.Where(e => e.Name == CrawlTelemetry.AttemptEvent)
            .Select(e => ((int)e.Tags.Single(t => t.Key == CrawlTelemetry.AttemptTag).Value!, (int)e.Tags.Single(t => t.Key == CrawlTelemetry.StatusCodeTag).Value!)));
        var redirected = Assert.Single(fetches, f => f.Events.Any(e => e.Name == CrawlTelemetry.RedirectEvent));
        Assert.Equal(2, redirected.Events.Count(e => e.Name == CrawlTelemetry.RedirectEvent));
        Assert.Equal(3, redirected.Events.Count(e => e.Name == CrawlTelemetry.AttemptEvent));
    }

    [Fact]
    public async Task RunAsync_SmallJob_MetricSumsEqualTheSummary()
    {
        var recorded = await RunJobAsync();
        var (summary, metrics) = (recorded.Summary, recorded.Metrics);

        Assert.Equal(9, summary.Total);
        Assert.Equal(summary.Total, Sum(metrics, "fetchfn.urls"));
        Assert.All(summary.Outcomes, outcome => Assert.Equal(outcome.Value, Sum(metrics, "fetchfn.urls", CrawlTelemetry.OutcomeTag, outcome.Key)));
        Assert.Equal(summary.Bytes, Sum(metrics, "fetchfn.bytes"));
        Assert.Equal(summary.Attempts, Sum(metrics, "fetchfn.attempts"));
        Assert.Equal(1, Sum(metrics, "fetchfn.retries"));
        Assert.Equal(1, Sum(metrics, "fetchfn.blocked", CrawlTelemetry.BlockReasonTag, "policy"));
        Assert.Equal(summary.Total, HistogramCount(metrics, "fetchfn.fetch.duration"));
        Assert.Equal(summary.Batches, HistogramCount(metrics, "fetchfn.batch.duration"));
        var hosts = metrics["fetchfn.fetch.duration"].MetricPoints.SelectMany(Tags).Where(t => t.Key == CrawlTelemetry.ServerAddressTag)
            .Select(t => (string)t.Value!).Distinct().Order();
        Assert.All(hosts, h => Assert.StartsWith("127.0.0.", h, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_SecretQueryAndCredentialHeader_InNoSpanEventTagOrMetric()
    {
        var recorded = await RunJobAsync();

        var texts = new List<string>();
        foreach (var span in recorded.Spans)
        {
            texts.Add(span.DisplayName);
            texts.Add(span.StatusDescription ?? string.Empty);
            texts.AddRange(span.TagObjects.Select(t => $"{t.Key}={t.Value}"));
            texts.AddRange(span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}")));
        }

        foreach (var metric in recorded.Metrics.Values)
        {
            texts.Add(metric.Name);
            texts.AddRange(metric.MetricPoints.SelectMany(Tags).Select(t => $"{t.Key}={t.Value}"));
        }

        Assert.True(texts.Count > 100, $"only {texts.Count} texts");
        Assert.Contains(texts, t => t.Contains(recorded.JobId, StringComparison.Ordinal));
        Assert.DoesNotContain(texts, t => t.Contains(Secret, StringComparison.Ordinal) || t.Contains("secret=", StringComparison.Ordinal));
        Assert.DoesNotContain(texts, t => t.Contains(HeaderValue, StringComparison.Ordinal) || t.Contains('?', StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_RecordFullUrl_SpansCarryTheUrlWithoutItsQuery()
    {
        var recorded = await RunJobAsync(new Dictionary<string, string?> { ["Telemetry:RecordFullUrl"] = "true" });

        var fullUrls = recorded.Spans.Where(s => s.OperationName == CrawlTelemetry.FetchSpan)
            .Select(s => (string)s.GetTagItem(CrawlTelemetry.FullUrlTag)!).Order(StringComparer.Ordinal);
        Assert.Equal(recorded.Urls.Select(u => new Uri(u).GetLeftPart(UriPartial.Path)).Order(StringComparer.Ordinal), fullUrls);
        Assert.DoesNotContain(fullUrls, u => u.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task FetchAsync_InsideARecordedSpan_SendsNoTraceContextToTheSite()
    {
        var server = await LoopbackServer.Shared;
        var spans = new List<Activity>();
        await using var host = await EngineHost.StartAsync();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(FetchFunctionsTelemetry.SourceName).AddInMemoryExporter(spans).Build();

        var result = await host.FetchAsync(server.Url("/headers"));

        var headers = System.Text.Encoding.UTF8.GetString(await host.DownloadAsync(result.BlobName!));
        Assert.Contains("User-Agent:", headers, StringComparison.Ordinal);
        Assert.DoesNotContain("traceparent", headers, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Request-Id", headers, StringComparison.OrdinalIgnoreCase);
        tracing.ForceFlush();
        Assert.Contains(spans, s => s.OperationName == CrawlTelemetry.FetchSpan && s.TraceId != default);
    }
}
