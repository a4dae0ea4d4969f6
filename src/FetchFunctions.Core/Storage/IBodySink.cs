using FetchFunctions.Core.Fetching;

namespace FetchFunctions.Core.Storage;

/// <summary>What to store a body under and what to record with it; the sink adds the body's size and SHA-256 once it has
/// read it all. Plain values: a sink that keeps metadata builds its own collection once, a sink that does not pays nothing.</summary>
internal sealed record BodyWrite(string BlobName, string? ContentType, string? ContentEncoding, string SourceUrl, string FinalUrl, int Status, DateTimeOffset FetchedAt);

/// <summary>Where fetched bodies go.</summary>
internal interface IBodySink
{
    /// <summary>Reads <paramref name="body"/> to its end and stores it under the write's blob name, replacing what was there.
    /// On failure nothing new becomes visible under that name.</summary>
    Task StoreAsync(BodyWrite write, BodyMeterStream body, CancellationToken cancellationToken);

    /// <summary>Removes whatever an earlier run stored under the name (for example after the byte cap stopped a body).</summary>
    Task DeleteAsync(string blobName, CancellationToken cancellationToken);
}
