using System.Globalization;
using System.Text.Json;
using Azure.Storage.Blobs;
using FetchFunctions.Core.Fetching;

namespace FetchFunctions.Benchmarks;

/// <summary>Part 3: one big body from the loopback server into Azurite, by the engine and by a bare HttpClient →
/// UploadAsync copy. Each copy runs in a child process of its own, so its peak RSS is its own.</summary>
internal static class BigBody
{
    public const string Command = "__big";

    private const string BlobName = "bench/big";

    private sealed record Outcome(double Seconds, long Bytes, long PeakRssBytes, double CpuSeconds);

    public static async Task RunAsync(BenchOptions options, Uri server, Report report, CancellationToken cancellationToken)
    {
        var engine = new List<Outcome>();
        var baseline = new List<Outcome>();
        var warc = new List<Outcome>();
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var side in Measure.BaselineFirst(run) ? new[] { "bare", "engine", "warc" } : ["warc", "engine", "bare"])
            {
                var (azurite, _) = await Azurite.StartFreshAsync(cancellationToken);
                await using (azurite)
                {
                    await using var child = ChildProcess.Start(Command, side, new Uri(server, $"big/{options.BigBytes}").AbsoluteUri, azurite.ConnectionString);
                    var outcome = JsonSerializer.Deserialize<Outcome>(await child.ReadLineAsync(cancellationToken))
                        ?? throw new InvalidOperationException("The big-body child answered nothing.");
                    if (await child.WaitForExitAsync(cancellationToken) != 0 || outcome.Bytes != options.BigBytes)
                    {
                        throw new InvalidOperationException($"The {side} big-body copy failed: {outcome}");
                    }

                    (side switch { "engine" => engine, "warc" => warc, _ => baseline }).Add(outcome);
                }
            }

            Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                $"part 3 run {run + 1}: engine {MiBps(engine[^1]):0} MiB/s peak {Mb(engine[^1]):0} MB, WARC {MiBps(warc[^1]):0} MiB/s peak {Mb(warc[^1]):0} MB, bare {MiBps(baseline[^1]):0} MiB/s peak {Mb(baseline[^1]):0} MB"));
        }

        const string part = "3 big body";
        report.Add(part, "engine into Azurite", "MiB/s", engine.Select(MiBps));
        report.Add(part, "bare HttpClient → UploadAsync", "MiB/s", baseline.Select(MiBps));
        var ratio = report.Add(part, "engine / bare", "ratio", engine.Zip(baseline, (e, b) => MiBps(e) / MiBps(b)));
        var peak = report.Add(part, "engine peak RSS", "MB", engine.Select(Mb));
        report.Add(part, "bare peak RSS", "MB", baseline.Select(Mb));
        report.Add(part, "engine CPU per GiB", "s", engine.Select(CpuPerGiB));
        report.Add(part, "bare CPU per GiB", "s", baseline.Select(CpuPerGiB));
        var size = $"{options.BigBytes / (1024 * 1024)} MiB";
        report.AddTarget($"big body ({size}) engine / bare MiB/s", "≥ 0.90", $"{ratio.Median:0.00}", ratio.Median >= 0.9, Report.Issue13);
        report.AddTarget($"big body ({size}) engine peak RSS, max of runs", "≤ 150 MB", $"{peak.Max:0} MB (median {peak.Median:0})", peak.Max <= 150,
            Report.Issue13);
        var warcRatio = report.Add(part, "WARC store / bare", "ratio", warc.Zip(baseline, (e, b) => MiBps(e) / MiBps(b)));
        report.Add(part, "WARC store into Azurite", "MiB/s", warc.Select(MiBps));
        var warcPeak = report.Add(part, "WARC store peak RSS", "MB", warc.Select(Mb));
        report.Add(part, "WARC store CPU per GiB", "s", warc.Select(CpuPerGiB));
        report.AddTarget($"big body ({size}) WARC store / bare MiB/s", "≥ 0.90", $"{warcRatio.Median:0.00}", warcRatio.Median >= 0.9, Report.Issue18);
        report.AddTarget($"big body ({size}) WARC store peak RSS, max of runs", "≤ 150 MB", $"{warcPeak.Max:0} MB (median {warcPeak.Median:0})", warcPeak.Max <= 150,
            Report.Issue18);
    }

    /// <summary>The child: one copy, then a JSON line with its time, bytes and the process's peak RSS.</summary>
    public static async Task<int> RunChildAsync(string side, Uri url, string storage)
    {
        double seconds;
        long bytes;
        TimeSpan cpu;
        if (side == "warc")
        {
            await using var core = CoreHost.Create(storage, concurrency: 1, maxBodyBytes: 64L << 30, new Dictionary<string, string?>
            {
                ["Fetch:FetchDeadline"] = "00:30:00",
            });
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var cpuStarted = Environment.CpuUsage.TotalTime;
            await using var writer = core.OpenWarc("bench", 0);
            var result = await core.Engine.FetchAsync(new FetchRequest(url, BlobName, core.Policy, writer), CancellationToken.None);
            await writer.CommitAsync(CancellationToken.None);
            seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            cpu = Environment.CpuUsage.TotalTime - cpuStarted;
            if (!result.Succeeded || result.WarcFile is null)
            {
                await Console.Error.WriteLineAsync($"warc: {result.ErrorKind} {result.Error}");
                return 1;
            }

            bytes = result.Bytes;
        }
        else if (side == "engine")
        {
            await using var core = CoreHost.Create(storage, concurrency: 1, maxBodyBytes: 64L << 30, new Dictionary<string, string?>
            {
                // A gigabyte over loopback into Azurite takes longer than the default two minutes on a busy machine.
                ["Fetch:FetchDeadline"] = "00:30:00",
            });
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var cpuStarted = Environment.CpuUsage.TotalTime;
            var result = await core.Engine.FetchAsync(new FetchRequest(url, BlobName, core.Policy), CancellationToken.None);
            seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            cpu = Environment.CpuUsage.TotalTime - cpuStarted;
            if (!result.Succeeded)
            {
                await Console.Error.WriteLineAsync($"engine: {result.ErrorKind} {result.Error}");
                return 1;
            }

            bytes = result.Bytes;
        }
        else
        {
            using var client = SmallPages.CreateBareClient(concurrency: 1);
            var blob = new BlobServiceClient(storage).GetBlobContainerClient(CoreHost.ContainerName).GetBlobClient(BlobName);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var cpuStarted = Environment.CpuUsage.TotalTime;
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync();
            await blob.UploadAsync(body, overwrite: true);
            seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            cpu = Environment.CpuUsage.TotalTime - cpuStarted;
            bytes = (await blob.GetPropertiesAsync()).Value.ContentLength;
        }

        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Outcome(seconds, bytes, Measure.PeakRssBytes() ?? 0, cpu.TotalSeconds)));
        return 0;
    }

    private static double MiBps(Outcome outcome) => outcome.Bytes / (1024.0 * 1024) / outcome.Seconds;

    private static double Mb(Outcome outcome) => outcome.PeakRssBytes / 1e6;

    private static double CpuPerGiB(Outcome outcome) => outcome.CpuSeconds / (outcome.Bytes / (1024.0 * 1024 * 1024));
}
