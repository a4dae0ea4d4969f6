using FetchFunctions.Core.Fetching;

namespace FetchFunctions.Core.Storage;

/// <summary>Headers and metadata of a body to store; the sink adds the body's size and SHA-256 once it has read it all.</summary>
internal sealed record BodyWrite(string BlobName, string? ContentType, string? ContentEncoding, IReadOnlyDictionary<string, string> Metadata);

/// <summary>Where fetched bodies go.</summary>
internal interface IBodySink
{
    /// <summary>Reads <paramref name="body"/> to its end and stores it under the write's blob name, replacing what was there.
    /// On failure nothing new becomes visible under that name.</summary>
    Task StoreAsync(BodyWrite write, BodyMeterStream body, CancellationToken cancellationToken);

    /// <summary>Removes whatever an earlier run stored under the name (for example after the byte cap stopped a body).</summary>
    Task DeleteAsync(string blobName, CancellationToken cancellationToken);
}
