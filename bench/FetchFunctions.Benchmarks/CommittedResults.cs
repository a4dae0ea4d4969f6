using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Benchmarks;

/// <summary>The totals of one results blob's rows.</summary>
internal readonly record struct RowTally(long Rows, long Succeeded, long Failed, long Bytes)
{
    public static RowTally Of(IEnumerable<string> lines)
    {
        long rows = 0, succeeded = 0, failed = 0, bytes = 0;
        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var row = JsonSerializer.Deserialize(line, CrawlJsonContext.Default.UrlResult)
                ?? throw new InvalidDataException("A null results row.");
            rows++;
            bytes += row.Bytes;
            if (row.Succeeded)
            {
                succeeded++;
            }
            else
            {
                failed++;
            }
        }

        return new RowTally(rows, succeeded, failed, bytes);
    }

    public static RowTally operator +(RowTally left, RowTally right) =>
        new(left.Rows + right.Rows, left.Succeeded + right.Succeeded, left.Failed + right.Failed, left.Bytes + right.Bytes);
}

/// <summary>Tallies the results rows a job commits, as storage acknowledged them: every Put Blob of a
/// <c>…/results/*.ndjson</c> blob answered 201, the last one per blob (a re-run batch replaces its rows). It lets the
/// bench check a 1,000,000-URL job's summary against its 20,000 results blobs without reading them back: Azurite finds a
/// blob by scanning its store, so after that job each read took about 0.3 s, hours for all of them. A sample is read back
/// and compared, so what was tallied is what storage holds.</summary>
internal sealed class CommittedResults : HttpPipelineSynchronousPolicy
{
    private const string BodyProperty = "fetchfn-bench-results-body";

    private readonly ConcurrentDictionary<string, RowTally> _byPath = new(StringComparer.Ordinal);

    public int Blobs => _byPath.Count;

    public RowTally Total => _byPath.Values.Aggregate(default(RowTally), (sum, tally) => sum + tally);

    /// <summary>The tally committed for a blob, by its URI path; null when none was.</summary>
    public RowTally? For(Uri blobUri) => _byPath.TryGetValue(blobUri.AbsolutePath, out var tally) ? tally : null;

    public override void OnSendingRequest(HttpMessage message)
    {
        if (IsResultsPut(message.Request) && message.Request.Content is { } content)
        {
            using var body = new MemoryStream();
            content.WriteTo(body, CancellationToken.None);
            message.SetProperty(BodyProperty, body.ToArray());
        }
    }

    public override void OnReceivedResponse(HttpMessage message)
    {
        if (message.Response.Status == 201 && message.TryGetProperty(BodyProperty, out var body) && body is byte[] bytes)
        {
            _byPath[message.Request.Uri.ToUri().AbsolutePath] = RowTally.Of(Encoding.UTF8.GetString(bytes).Split('\n'));
        }
    }

    // Put Blob only: a results blob is written whole, in one request (Put Block and Put Block List carry "comp=").
    private static bool IsResultsPut(Request request)
    {
        if (request.Method != RequestMethod.Put)
        {
            return false;
        }

        var uri = request.Uri.ToUri();
        return uri.AbsolutePath.Contains("/results/", StringComparison.Ordinal)
            && uri.AbsolutePath.EndsWith(".ndjson", StringComparison.Ordinal)
            && !uri.Query.Contains("comp=", StringComparison.Ordinal);
    }
}
