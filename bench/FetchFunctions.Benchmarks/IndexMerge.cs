using System.Globalization;
using System.Text;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Part <c>merge</c> (issue 20): a job's index merges alone, over <c>--merge-parts</c> index parts (default
/// 20,000: a 1,000,000-URL job's batches of 50) of 50 CDXJ lines each, as the batches write them, in a fresh Azurite.
/// The parts are uploaded first (not timed); then, in process, each shard of 500 batches merges its parts (as shards do
/// when they complete, while others fetch), and the fan-in merges the shard indexes into index.cdxj.</summary>
internal static class IndexMerge
{
    private const int LinesPerPart = 50;
    private const int Hosts = 50;
    private const int BatchesPerShard = 500;
    private const string JobId = "bench-merge";

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var parts = options.MergeParts;
        var shardSeconds = new List<double>();
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
                var merger = core.Provider.GetRequiredService<CdxjIndexMerger>();
                var shards = (parts + BatchesPerShard - 1) / BatchesPerShard;
                for (var shard = 0; shard < shards; shard++)
                {
                    var first = shard * BatchesPerShard;
                    var sharded = await Measure.RunAsync(async () => await merger.MergeShardAsync(
                        new ShardIndexWork(JobId, shard, first, Math.Min(BatchesPerShard, parts - first)), cancellationToken));
                    shardSeconds.Add(sharded.Wall.TotalSeconds);
                }

                long lines = 0;
                var sample = await Measure.RunAsync(async () => lines = await merger.MergeAsync(JobId, cancellationToken));
                if (lines != (long)parts * LinesPerPart)
                {
                    throw new InvalidOperationException($"The merge wrote {lines} lines, not {parts * LinesPerPart}.");
                }

                seconds.Add(sample.Wall.TotalSeconds);
                Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                    $"merge run {run + 1}: {shards} shards merged in {shardSeconds.TakeLast(shards).Sum():0.0} s, then {lines:N0} lines at fan-in in {sample.Wall.TotalSeconds:0.0} s"));
            }
        }

        var part = string.Create(CultureInfo.InvariantCulture, $"index merge of {parts:N0} parts of {LinesPerPart}");
        report.Add(part, $"one shard's merge of {BatchesPerShard} parts (as it completes)", "s", shardSeconds);
        var time = report.Add(part, "the fan-in's merge of the shard indexes into index.cdxj", "s", seconds);
        report.Add(part, "  its lines per second", "lines/s", seconds.Select(s => parts * (double)LinesPerPart / s));
        report.AddTarget(string.Create(CultureInfo.InvariantCulture, $"index merge at fan-in, {parts:N0} parts (a {parts * LinesPerPart:N0}-URL job)"),
            "≤ 60 s", $"{time.Median:0.0} s", time.Median <= 60, Report.Issue20);
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
