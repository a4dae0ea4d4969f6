using System.Globalization;
using System.Text;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Part <c>merge</c> (issue 20): the fan-in's index merge alone, over <c>--merge-parts</c> index parts (default
/// 20,000: a 1,000,000-URL job's batches of 50) of 50 CDXJ lines each, as the batches write them, in a fresh Azurite.
/// The parts are uploaded first (not timed); then <see cref="CdxjIndexMerger.MergeAsync"/> runs in process.</summary>
internal static class IndexMerge
{
    private const int LinesPerPart = 50;
    private const int Hosts = 50;
    private const string JobId = "bench-merge";

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var parts = options.MergeParts;
        var seconds = new List<double>();
        for (var run = 0; run < options.Runs; run++)
        {
            var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
            await using (azurite)
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, parts), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
                    async (part, token) => await container.GetBlobClient(BlobNames.IndexPart(JobId, part)).UploadAsync(PartText(part), token));
                Measure.Progress(string.Create(CultureInfo.InvariantCulture, $"part merge: {parts:N0} index parts uploaded; merging"));
                await using var core = CoreHost.Create(azurite.ConnectionString, concurrency: 16, maxBodyBytes: 1024 * 1024);
                long lines = 0;
                var sample = await Measure.RunAsync(async () =>
                    lines = await core.Provider.GetRequiredService<CdxjIndexMerger>().MergeAsync(JobId, cancellationToken));
                if (lines != (long)parts * LinesPerPart)
                {
                    throw new InvalidOperationException($"The merge wrote {lines} lines, not {parts * LinesPerPart}.");
                }

                seconds.Add(sample.Wall.TotalSeconds);
                Measure.Progress(string.Create(CultureInfo.InvariantCulture, $"merge run {run + 1}: {lines:N0} lines in {sample.Wall.TotalSeconds:0.0} s"));
            }
        }

        var part = string.Create(CultureInfo.InvariantCulture, $"index merge of {parts:N0} parts of {LinesPerPart}");
        var time = report.Add(part, "the fan-in's merge into index.cdxj", "s", seconds);
        report.Add(part, "lines per second", "lines/s", seconds.Select(s => parts * (double)LinesPerPart / s));
        report.AddTarget(string.Create(CultureInfo.InvariantCulture, $"index merge of {parts:N0} parts (a {parts * LinesPerPart:N0}-URL job's fan-in)"),
            "≤ 300 s", $"{time.Median:0.0} s", time.Median <= 300, Report.Issue20);
    }

    /// <summary>A batch's part: its lines sorted, keys interleaving with every other part's as a job's hosts do.</summary>
    private static BinaryData PartText(int part)
    {
        var lines = Enumerable.Range(0, LinesPerPart).Select(i =>
        {
            var url = part * LinesPerPart + i;
            var host = url % Hosts + 1;
            return string.Create(CultureInfo.InvariantCulture,
                $"127,0,0,{host})/page/big-{url} 20261205223000 {{\"url\":\"http://127.0.0.{host}:8080/page/big-{url}\",\"mime\":\"text/html\",\"status\":200,\"digest\":\"sha1:AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH\",\"length\":1234,\"offset\":{i * 1300},\"filename\":\"FETCHFN-20261205223000-{part:D6}-00000.warc.gz\"}}");
        }).Order(StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }

        return BinaryData.FromString(text.ToString());
    }
}
