using System.Text.Json;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;

namespace FetchFunctions.Core.Tests.Summary;

public sealed class BatchStatsTests
{
    private static BatchStats CreateSut(int batch, params (string Host, bool Ok, int? Status, long Bytes, double Ms)[] urls) => new()
    {
        Batches = 1,
        Urls = urls.Length,
        Succeeded = urls.Count(u => u.Ok),
        Failed = urls.Count(u => !u.Ok),
        Bytes = urls.Sum(u => u.Bytes),
        StatusCodes = urls.Where(u => u.Status is not null).GroupBy(u => u.Status!.Value).ToDictionary(g => g.Key, g => (long)g.Count()),
        ErrorKinds = urls.Where(u => !u.Ok).GroupBy(_ => "HttpStatus").ToDictionary(g => g.Key, g => (long)g.Count()),
        Latency = LatencyHistogram.FromMilliseconds(urls.Select(u => u.Ms)),
        Hosts = [.. urls.GroupBy(u => u.Host).Select(g => new HostStats(g.Key, g.Count(), g.Count(u => u.Ok), g.Count(u => !u.Ok), g.Sum(u => u.Bytes)))],
        Attempts = batch,
    };

    [Fact]
    public void From_MixedResults_CountsOneOutcomePerUrl()
    {
        UrlResult Result(int? status, FetchErrorKind? kind, long bytes = 0) =>
            new("https://a.example/", "a.example", null, status, null, bytes, null, 1, 5, null, kind, kind?.ToString());
        UrlResult[] results =
        [
            Result(200, null, 10), Result(200, null, 20), Result(404, FetchErrorKind.HttpStatus),
            Result(200, FetchErrorKind.TooLarge, 1001), Result(null, FetchErrorKind.Timeout),
            Result(301, FetchErrorKind.TooManyRedirects),
        ];

        var stats = BatchStatsBuilder.From(results);

        Assert.Equal(new Dictionary<string, long> { ["200"] = 2, ["404"] = 1, ["TooLarge"] = 1, ["Timeout"] = 1, ["TooManyRedirects"] = 1 }, stats.Outcomes);
        Assert.Equal(stats.Urls, stats.Outcomes.Values.Sum());
        // The status table still counts the too-large 200 as a 200: it overlaps with the error kinds, the outcomes do not.
        Assert.Equal(3, stats.StatusCodes[200]);
        Assert.Equal(1031, stats.Bytes);
        Assert.Equal(stats.Urls, BatchStats.Merge(stats, BatchStats.Empty).Outcomes.Values.Sum());
    }

    [Fact]
    public void Merge_AddsEveryCounter()
    {
        var a = CreateSut(1, ("a", true, 200, 10, 5), ("b", false, 404, 3, 50));
        var b = CreateSut(2, ("a", true, 200, 7, 500), ("c", false, null, 0, 1));

        var merged = BatchStats.Merge(a, b);

        Assert.Equal((2, 4L, 2L, 2L, 20L, 3L), (merged.Batches, merged.Urls, merged.Succeeded, merged.Failed, merged.Bytes, merged.Attempts));
        Assert.Equal(new Dictionary<int, long> { [200] = 2, [404] = 1 }, merged.StatusCodes);
        Assert.Equal(new Dictionary<string, long> { ["HttpStatus"] = 2 }, merged.ErrorKinds);
        Assert.Equal(4, merged.Latency.Count);
        Assert.Equal([new HostStats("a", 2, 2, 0, 17), new HostStats("b", 1, 0, 1, 3), new HostStats("c", 1, 0, 1, 0)], merged.Hosts);
        Assert.Null(merged.OtherHosts);
    }

    [Fact]
    public void Merge_WithEmpty_IsIdentity()
    {
        var a = CreateSut(1, ("a", true, 200, 10, 5));

        Assert.Equal(Json(a), Json(BatchStats.Merge(BatchStats.Empty, a)));
        Assert.Equal(Json(a), Json(BatchStats.Merge(a, BatchStats.Empty)));
    }

    [Fact]
    public void Merge_ManyHosts_CapsTableAndKeepsTotalsInOtherHosts()
    {
        var stats = Enumerable.Range(0, BatchStats.MaxHosts + 20)
            .Select(i => CreateSut(1, [.. Enumerable.Range(0, 1 + (i % 3)).Select(_ => ($"h{i:D3}", true, (int?)200, 1L, 1.0))]))
            .ToList();

        var merged = stats.Aggregate(BatchStats.Empty, BatchStats.Merge);

        Assert.Equal(BatchStats.MaxHosts, merged.Hosts.Count);
        Assert.NotNull(merged.OtherHosts);
        Assert.Equal(HostStats.OtherHostsName, merged.OtherHosts.Host);
        Assert.Equal(merged.Urls, merged.Hosts.Sum(h => h.Urls) + merged.OtherHosts.Urls);
        Assert.Equal(merged.Bytes, merged.Hosts.Sum(h => h.Bytes) + merged.OtherHosts.Bytes);
        Assert.Equal(merged.Hosts.OrderByDescending(h => h.Urls).ThenBy(h => h.Host, StringComparer.Ordinal), merged.Hosts);
    }

    [Fact]
    public void Merge_OrderOfMerges_GivesSameCounters()
    {
        var parts = Enumerable.Range(0, 30).Select(i => CreateSut(i, ($"h{i % 7}", i % 4 != 0, 200 + i % 3, i, i * 3.5))).ToList();

        var forward = parts.Aggregate(BatchStats.Empty, BatchStats.Merge);
        var backward = Enumerable.Reverse(parts).Aggregate(BatchStats.Empty, BatchStats.Merge);

        Assert.Equal(Json(forward), Json(backward));
    }

    [Fact]
    public void Serialization_DefaultAndWebOptions_RoundTrip()
    {
        var stats = BatchStats.Merge(CreateSut(1, ("a", true, 200, 10, 5)), CreateSut(2, ("b", false, 503, 0, 900)));

        foreach (var options in new[] { new JsonSerializerOptions(), new JsonSerializerOptions(JsonSerializerDefaults.Web) })
        {
            var json = JsonSerializer.Serialize(stats, options);
            var back = JsonSerializer.Deserialize<BatchStats>(json, options)!;
            Assert.Equal(json, JsonSerializer.Serialize(back, options));
            Assert.Equal(stats.Latency.Percentile(0.95), back.Latency.Percentile(0.95));
        }
    }

    [Fact]
    public void Serialization_FullHostTable_StaysFarBelowDurableMessageThreshold()
    {
        var stats = Enumerable.Range(0, 500)
            .Select(i => CreateSut(i, ($"host-{i:D4}.some-long-domain-name.example", i % 2 == 0, 200 + i % 50, 123_456_789, Math.Pow(1.05, i % 300))))
            .Aggregate(BatchStats.Empty, BatchStats.Merge);

        Assert.True(JsonSerializer.SerializeToUtf8Bytes(stats).Length < 20 * 1024);
    }

    [Fact]
    public void From_ThrottledAnswersAndSlowedHosts_AreCountedPerHostAndMerged()
    {
        static UrlResult Answer(string host, int status) => new($"https://{host}/{status}", host, null, status, null, 0, null, 1, 1, null,
            status == 200 ? null : FetchFunctions.Core.Fetching.FetchErrorKind.HttpStatus, status == 200 ? null : "HTTP");
        var first = BatchStatsBuilder.From([Answer("a", 503), Answer("a", 429), Answer("a", 500), Answer("b", 200)], new HashSet<string> { "a" });
        var second = BatchStatsBuilder.From([Answer("a", 200), Answer("b", 503)]);

        var merged = BatchStats.Merge(first, second);

        Assert.Equal([new HostStats("a", 4, 1, 3, 0, 2, true), new HostStats("b", 2, 1, 1, 0, 1, false)], merged.Hosts);
    }

    private static string Json(BatchStats stats) => JsonSerializer.Serialize(stats with
    {
        StatusCodes = new SortedDictionary<int, long>(stats.StatusCodes.ToDictionary()),
        ErrorKinds = new SortedDictionary<string, long>(stats.ErrorKinds.ToDictionary(), StringComparer.Ordinal),
        Latency = stats.Latency with { Buckets = new SortedDictionary<int, long>(stats.Latency.Buckets.ToDictionary()), TotalMilliseconds = Math.Round(stats.Latency.TotalMilliseconds, 6) },
    });
}
