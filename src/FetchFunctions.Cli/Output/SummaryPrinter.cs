using System.Globalization;
using FetchFunctions.Core.Summary;
using Spectre.Console;

namespace FetchFunctions.Cli.Output;

/// <summary>Prints a crawl summary as tables.</summary>
internal static class SummaryPrinter
{
    private const int FailedUrlsShown = 10;
    private const int HostsShown = 10;

    public static void Print(IAnsiConsole console, CrawlSummary summary)
    {
        var totals = new Table().Title($"Job {Markup.Escape(summary.JobId)}").AddColumn("Figure").AddColumn(new TableColumn("Value").RightAligned());
        Row(totals, "URLs", N(summary.Total));
        Row(totals, "Succeeded", N(summary.Succeeded));
        Row(totals, "Failed", N(summary.Failed));
        Row(totals, "Duplicates removed", N(summary.DuplicatesRemoved));
        Row(totals, "Success rate", summary.SuccessRate.ToString("P1", CultureInfo.InvariantCulture));
        Row(totals, "Body bytes read (stored or not)", $"{N(summary.Bytes)} ({summary.Bytes / 1048576.0:0.0} MiB)");
        Row(totals, "Bodies stored", $"{N(summary.BodiesStored)} ({N(summary.StoredBytes)} bytes)");
        Row(totals, "HTTP attempts", N(summary.Attempts));
        Row(totals, "Elapsed", $"{summary.Elapsed.TotalSeconds:0.00} s");
        Row(totals, "Throughput", $"{summary.UrlsPerSecond:0.0} URLs/s, {summary.BytesPerSecond / 1048576.0:0.00} MiB/s");
        Row(totals, "Latency p50 / p95 / p99 (bucket upper bounds, ≤ 9 % high)", $"{summary.Latency.P50Milliseconds:0.0} / {summary.Latency.P95Milliseconds:0.0} / {summary.Latency.P99Milliseconds:0.0} ms");
        Row(totals, "Latency mean / max", $"{summary.Latency.MeanMilliseconds:0.0} / {summary.Latency.MaxMilliseconds:0.0} ms");
        Row(totals, "Summary blob", summary.SummaryBlobName);
        console.Write(totals);

        var outcomes = Outcomes(summary);
        if (outcomes.Count > 0)
        {
            // One row per outcome, one outcome per URL: the rows sum to the URL count (a too-large 200 is "error: TooLarge" only).
            var table = new Table().AddColumn("Outcome").AddColumn(new TableColumn("URLs").RightAligned());
            foreach (var (label, count) in outcomes)
            {
                Row(table, label, N(count));
            }

            console.Write(table);
        }
        else if (summary.StatusCodes.Count > 0 || summary.ErrorKinds.Count > 0)
        {
            // A summary stored before outcomes were counted per URL: its two tables overlap, and say so.
            var table = new Table().AddColumn("Status or error (overlapping: a too-large 200 is in both)").AddColumn(new TableColumn("URLs").RightAligned());
            foreach (var (status, count) in summary.StatusCodes.OrderBy(s => s.Key))
            {
                Row(table, string.Create(CultureInfo.InvariantCulture, $"HTTP {status}"), N(count));
            }

            foreach (var (kind, count) in summary.ErrorKinds.OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal))
            {
                Row(table, $"error: {kind}", N(count));
            }

            console.Write(table);
        }

        if (summary.Discovery is { } discovery)
        {
            PrintDiscovery(console, summary, discovery);
        }

        if (summary.Hosts.Count > 0)
        {
            var hosts = new Table().AddColumn("Host").AddColumn(new TableColumn("URLs").RightAligned())
                .AddColumn(new TableColumn("Succeeded").RightAligned()).AddColumn(new TableColumn("Failed").RightAligned());
            // The back-off's columns only when some host answered 429/503 or was slowed down.
            var backoff = summary.Hosts.Any(h => h.Throttled > 0 || h.Slowed);
            if (backoff)
            {
                hosts.AddColumn(new TableColumn("429/503").RightAligned()).AddColumn("Slowed");
            }

            foreach (var host in summary.Hosts.Take(HostsShown))
            {
                string[] cells = [Markup.Escape(host.Host), N(host.Urls), N(host.Succeeded), N(host.Failed)];
                hosts.AddRow(backoff ? [.. cells, N(host.Throttled), host.Slowed ? "yes" : "no"] : cells);
            }

            console.Write(hosts);
        }

        if (summary.FailedUrls.Count > 0)
        {
            var failed = new Table().AddColumn("Failed URL").AddColumn("Reason");
            foreach (var url in summary.FailedUrls.Take(FailedUrlsShown))
            {
                failed.AddRow(Markup.Escape(url.Url), Markup.Escape(url.Error ?? url.ErrorKind ?? string.Empty));
            }

            console.Write(failed);
            var more = summary.Failed - Math.Min(FailedUrlsShown, summary.FailedUrls.Count);
            if (more > 0)
            {
                console.MarkupLine($"[grey]… and {N(more)} more failed URLs: see {Markup.Escape(summary.SummaryBlobName)} and the results blobs.[/]");
            }
        }
    }

    /// <summary>Link discovery: pages planned and fetched per depth, then what became of the links found.</summary>
    private static void PrintDiscovery(IAnsiConsole console, CrawlSummary summary, Core.Discovery.DiscoverySummary discovery)
    {
        var depths = new Table().AddColumn(new TableColumn("Depth").RightAligned()).AddColumn(new TableColumn("Pages planned").RightAligned())
            .AddColumn(new TableColumn("Fetched").RightAligned());
        for (var depth = 0; depth < discovery.PagesByDepth.Count; depth++)
        {
            depths.AddRow(N(depth), N(discovery.PagesByDepth[depth]), N(summary.PagesByDepth.GetValueOrDefault(depth)));
        }

        console.Write(depths);
        var links = new Table().AddColumn("Links and sitemap entries").AddColumn(new TableColumn("Count").RightAligned());
        Row(links, "Links found", N(discovery.LinksFound));
        Row(links, "Sitemap URLs added", N(discovery.SitemapUrls));
        Row(links, "Duplicates (already seen)", N(discovery.Duplicates));
        Row(links, "Out of scope", N(discovery.OutOfScope));
        Row(links, "Excluded by a pattern", N(discovery.Excluded));
        Row(links, "Nofollow", N(discovery.Nofollow));
        Row(links, "Beyond maxDepth", N(discovery.TooDeep));
        Row(links, "Over maxPages", N(discovery.OverMaxPages));
        Row(links, "Unusable", N(discovery.Unusable));
        console.Write(links);
    }

    /// <summary>The outcome rows in print order: statuses ascending, then error kinds, most frequent first.</summary>
    internal static List<(string Label, long Count)> Outcomes(CrawlSummary summary)
    {
        var statuses = new List<(int Status, long Count)>();
        var errors = new List<(string Kind, long Count)>();
        foreach (var (outcome, count) in summary.Outcomes)
        {
            if (UrlOutcome.StatusCodeOf(outcome) is { } status)
            {
                statuses.Add((status, count));
            }
            else
            {
                errors.Add((outcome, count));
            }
        }

        return
        [
            .. statuses.OrderBy(s => s.Status).Select(s => (string.Create(CultureInfo.InvariantCulture, $"HTTP {s.Status}"), s.Count)),
            .. errors.OrderByDescending(e => e.Count).ThenBy(e => e.Kind, StringComparer.Ordinal).Select(e => ($"error: {e.Kind}", e.Count)),
        ];
    }

    private static void Row(Table table, string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
