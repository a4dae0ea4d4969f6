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

    public static string BatchManifest(string jobId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/batches/{index:D6}.json");

    public static string BatchResults(string jobId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/results/{index:D6}.ndjson");

    public static string Summary(string jobId) => $"{jobId}/summary.json";
}
