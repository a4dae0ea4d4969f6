using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FetchFunctions.Benchmarks;

/// <summary>One figure over the measured runs: median, min and max of its samples.</summary>
internal sealed record Figure(string Part, string Name, string Unit, IReadOnlyList<double> Samples)
{
    public double Median => Percentile(0.5);
    public double Min => Samples.Min();
    public double Max => Samples.Max();

    private double Percentile(double p)
    {
        var sorted = Samples.Order().ToArray();
        var rank = p * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}

/// <summary>A target, the issue that set it, and whether the measured figure (a median unless it says otherwise) met it.</summary>
internal sealed record Target(string Name, string Rule, string Measured, bool Met, string Issue);

/// <summary>Everything measured in one benchmark run; printed as a table and written as JSON.</summary>
internal sealed class Report
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public required BenchOptions Options { get; init; }
    public List<Figure> Figures { get; } = [];
    public List<Target> Targets { get; } = [];
    public List<string> Notes { get; } = [];

    public Figure Add(string part, string name, string unit, IEnumerable<double> samples)
    {
        var figure = new Figure(part, name, unit, samples.ToArray());
        Figures.Add(figure);
        return figure;
    }

    /// <summary>The issue whose targets the final table lists first (issue 13, Performance).</summary>
    public const string Issue13 = "issue 13";

    public const string Issue18 = "issue 18";

    /// <summary>The parts that measure issue 13's targets.</summary>
    private static readonly string[] Issue13Parts = ["fetch", "store", "big", "job", "durable", "plan"];

    /// <summary>Issue 20's targets (10,000,000 URLs a job in bounded memory; a whole 1,000,000-URL job).</summary>
    public const string Issue20 = "issue 20";

    /// <summary>Issue 19's targets (host queues that keep their slots busy).</summary>
    public const string Issue19 = "issue 19";

    /// <summary>Targets of earlier issues the benchmark still checks.</summary>
    public const string Earlier = "earlier";

    public void AddTarget(string name, string rule, string measured, bool met, string issue = Earlier) =>
        Targets.Add(new Target(name, rule, measured, met, issue));

    public static string Machine => string.Create(CultureInfo.InvariantCulture,
        $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");

    public string ToTable()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"FetchFunctions benchmark: {Machine}");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"runs {Options.Runs}, concurrency {Options.Concurrency}, pages {Options.Pages} (store {Options.StorePages}) x {Options.PageBytes} B, at least {Options.Seconds} s a side, big body {Options.BigBytes / (1024.0 * 1024):0} MiB, job {Options.JobUrls} URLs over {ManyHosts.Hosts} hosts, plan {string.Join(" and ", Options.PlanUrls)} URLs, hosts job {Options.HostsUrls} URLs");
        text.AppendLine();
        var rows = Figures.Select(f => (f.Part, f.Name, Median: Format(f.Median), Min: Format(f.Min), Max: Format(f.Max), f.Unit)).ToList();
        var header = (Part: "part", Name: "figure", Median: "median", Min: "min", Max: "max", Unit: "unit");
        var widths = new[]
        {
            rows.Select(r => r.Part.Length).Append(header.Part.Length).Max(),
            rows.Select(r => r.Name.Length).Append(header.Name.Length).Max(),
            rows.Select(r => r.Median.Length).Append(header.Median.Length).Max(),
            rows.Select(r => r.Min.Length).Append(header.Min.Length).Max(),
            rows.Select(r => r.Max.Length).Append(header.Max.Length).Max(),
        };
        foreach (var row in rows.Prepend(header))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{row.Part.PadRight(widths[0])}  {row.Name.PadRight(widths[1])}  {row.Median.PadLeft(widths[2])}  {row.Min.PadLeft(widths[3])}  {row.Max.PadLeft(widths[4])}  {row.Unit}");
        }

        foreach (var (issue, title) in new[] { (Issue18, "targets of issue 18, the WARC store (medians of this run)"), (Issue19, "targets of issue 19 (medians of this run)"), (Issue20, "targets of issue 20 (medians of this run)"), (Issue13, "targets of issue 13 (medians of this run)"), (Earlier, "earlier targets, still checked") })
        {
            var targets = Targets.Where(t => t.Issue == issue).ToList();
            if (targets.Count == 0)
            {
                continue;
            }

            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"{title}:");
            var nameWidth = targets.Max(t => t.Name.Length);
            var ruleWidth = targets.Max(t => t.Rule.Length);
            foreach (var target in targets)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  {(target.Met ? "met    " : "not met")}  {target.Name.PadRight(nameWidth)}  target {target.Rule.PadRight(ruleWidth)}  measured {target.Measured}");
            }
        }

        var skipped = Issue13Parts.Where(p => !Options.Includes(p)).ToList();
        if (skipped.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  (issue 13 targets of parts not run here: {string.Join(", ", skipped)})");
        }

        foreach (var note in Notes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"note: {note}");
        }

        return text.ToString();
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var document = new
        {
            machine = new { cores = Environment.ProcessorCount, os = RuntimeInformation.OSDescription, dotnet = Environment.Version.ToString() },
            generatedAt = DateTimeOffset.UtcNow,
            options = Options,
            figures = Figures.Select(f => new { f.Part, f.Name, f.Unit, f.Median, f.Min, f.Max, f.Samples }),
            targets = Targets,
            notes = Notes,
        };
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, document, Json, cancellationToken).ConfigureAwait(false);
    }

    public static string Format(double value) => Math.Abs(value) switch
    {
        >= 1000 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0.0", CultureInfo.InvariantCulture),
        >= 1 => value.ToString("0.00", CultureInfo.InvariantCulture),
        _ => value.ToString("0.000", CultureInfo.InvariantCulture),
    };
}
