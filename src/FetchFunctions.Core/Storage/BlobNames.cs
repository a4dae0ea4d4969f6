using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FetchFunctions.Core.Storage;

/// <summary>The blob layout of a job. Names are deterministic so that a retried activity overwrites its own blobs.</summary>
internal static class BlobNames
{
    public static string Job(string jobId) => $"{jobId}/job.json";

    public static string Body(string jobId, Uri normalisedUrl)
    {
        ArgumentNullException.ThrowIfNull(normalisedUrl);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(normalisedUrl.AbsoluteUri));
        return $"{jobId}/bodies/{Convert.ToHexStringLower(hash)}";
    }

    /// <summary>The manifest of one shard: the URLs of all its batches (see <see cref="JobStore.WriteShardManifestAsync(string, int, int, ShardManifestBuffer, string?, CancellationToken)"/>).
    /// One blob per shard, not per batch: planning a million URLs writes tens of blobs, not tens of thousands.</summary>
    public static string ShardManifest(string jobId, int shardIndex) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/batches/shard-{shardIndex:D4}.txt");

    public static string BatchResults(string jobId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/results/{index:D6}.ndjson");

    public static string Summary(string jobId) => $"{jobId}/summary.json";

    /// <summary>A batch's WARC file: sorts by job acceptance, batch and serial, and says what it is (WARC 1.1 Annex C style).</summary>
    public static string WarcFile(DateTimeOffset acceptedAt, int batchIndex, int serial) =>
        string.Create(CultureInfo.InvariantCulture, $"FETCHFN-{acceptedAt.UtcDateTime:yyyyMMddHHmmss}-{batchIndex:D6}-{serial:D3}.warc.gz");

    public static string WarcFolder(string jobId) => $"{jobId}/warc/";

    /// <summary>A batch's sorted CDXJ lines, merged into <see cref="Index"/> at fan-in.</summary>
    public static string IndexPart(string jobId, int batchIndex) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/index/{batchIndex:D6}.cdxj");

    public static string IndexPartPrefix(string jobId) => $"{jobId}/index/";

    /// <summary>A shard's index parts merged into one as the shard completes (its metadata names the batches it covers),
    /// so the fan-in merges a few shard indexes instead of every batch's part.</summary>
    public static string ShardIndex(string jobId, int shardIndex) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/index-shard/{shardIndex:D6}.cdxj");

    public static string ShardIndexPrefix(string jobId) => $"{jobId}/index-shard/";

    /// <summary>The job's CDXJ index, byte-sorted.</summary>
    public static string Index(string jobId) => $"{jobId}/index.cdxj";

    /// <summary>The blob whose lease a run outside Durable holds while it runs (see <c>IJobRunStore</c>).</summary>
    public static string RunLease(string jobId) => $"{jobId}/run.lease";

    /// <summary>The job's normalised, de-duplicated URLs, one per line (kept out of job.json so that stays small).</summary>
    public static string UrlList(string jobId) => $"{jobId}/urls.txt";

    /// <summary>Where the planner spills a big job's URLs while it plans (see <c>CrawlPlanner</c>); deleted after planning.</summary>
    public static string PlanScratchPrefix(string jobId) => $"{jobId}/plan/";

    /// <summary>The URLs of one group of a big job's shards, in list order, each line the URL's position in the group
    /// (see <c>CrawlPlanner</c>) and the URL.</summary>
    public static string PlanSpill(string jobId, int group) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/plan/spill-{group:D3}.txt");

    public static string BatchManifestPrefix(string jobId) => $"{jobId}/batches/";

    public static string BatchResultsPrefix(string jobId) => $"{jobId}/results/";

    /// <summary>The shard index of a manifest's blob name, or null when the name is not one.</summary>
    public static int? ShardIndexOf(string blobName, string jobId) => BatchIndexOf(blobName, BatchManifestPrefix(jobId) + "shard-");

    /// <summary>The batch index of a results blob name, or null when the name is not one.</summary>
    public static int? BatchIndexOf(string blobName, string prefix)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        ArgumentNullException.ThrowIfNull(prefix);
        if (!blobName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = blobName.AsSpan(prefix.Length);
        var dot = rest.IndexOf('.');
        return dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : null;
    }
}
