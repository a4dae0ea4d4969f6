using System.Net;
using FetchFunctions.Core.Fetching;

namespace FetchFunctions.Core.Storage;

/// <summary>A request as it was sent: what a WARC <c>request</c> record holds. Values of <see cref="Jobs.SensitiveHeaders"/>
/// names are already replaced by <see cref="Jobs.SensitiveHeaders.Redacted"/>.</summary>
internal sealed record RecordedRequest(string Method, Uri Uri, Version Version, IReadOnlyList<KeyValuePair<string, string>> Headers);

/// <summary>A response's status line and headers as received (before any content decoding): what a WARC <c>response</c>
/// record's HTTP head is made from. <see cref="DecodedEncoding"/> is the content coding the engine undid (the stored
/// payload is decoded), or null.</summary>
internal sealed record RecordedResponse(Version Version, int Status, string? Reason, IReadOnlyList<KeyValuePair<string, string>> Headers,
    string? DecodedEncoding);

/// <summary>One HTTP exchange to store. <see cref="TargetUri"/> is the hop's URL (a redirect hop gets its own write);
/// <see cref="Request"/> and <see cref="Response"/> are filled only for a sink that records them
/// (<see cref="IRecordSink.RecordsExchanges"/>). The rest is what the blobs store keeps as metadata.</summary>
internal sealed record RecordWrite(
    Uri TargetUri,
    RecordedRequest? Request,
    RecordedResponse? Response,
    IPAddress? RemoteAddress,
    DateTimeOffset FetchedAt,
    string BlobName,
    string? ContentType,
    string? ContentEncoding,
    string SourceUrl,
    string FinalUrl,
    int Status);

/// <summary>Where a stored body went: a blob of its own, or a WARC file (name only, no folder) with the offset and the
/// compressed length of the response record in it.</summary>
internal sealed record BodyLocation(string? BlobName, string? WarcFile = null, long? WarcOffset = null, long? WarcLength = null)
{
    public static BodyLocation Blob(string blobName) => new(blobName);
}

/// <summary>Where fetched bodies (and, for a WARC store, the exchanges around them) go.</summary>
internal interface IRecordSink
{
    /// <summary>Whether this sink records requests, response heads and redirect hops: when false the engine builds none
    /// (the blobs store pays nothing for them), and a body stopped by the byte cap is not stored at all.</summary>
    bool RecordsExchanges { get; }

    /// <summary>Reads <paramref name="body"/> to its end (or, for a sink that records exchanges, to the byte cap: the
    /// record is then marked truncated) and stores it, replacing what this URL had before. On failure nothing new becomes
    /// visible. Returns where the body went; null when the sink keeps nothing (robots.txt).</summary>
    Task<BodyLocation?> StoreAsync(RecordWrite write, BodyMeterStream body, CancellationToken cancellationToken);

    /// <summary>Records a redirect hop (its response head, no body). Called only when <see cref="RecordsExchanges"/>.</summary>
    Task RecordHopAsync(RecordWrite hop, CancellationToken cancellationToken);

    /// <summary>Removes whatever an earlier run stored under the name (for example after the byte cap stopped a body).</summary>
    Task DeleteAsync(string blobName, CancellationToken cancellationToken);
}
