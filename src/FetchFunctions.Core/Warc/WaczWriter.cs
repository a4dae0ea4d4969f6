using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Warc;

/// <summary>Packs a job stored as WARC into a WACZ 1.1.1 zip (https://specs.webrecorder.net/wacz/1.1.1/): its WARC files
/// under <c>archive/</c> stored uncompressed (they are gzip already, and replay tools read records by offset inside the
/// zip), its index as <c>indexes/index.cdxj</c>, the 2xx captures of the index as <c>pages/pages.jsonl</c>, and
/// <c>datapackage.json</c> with each file's size and SHA-256. Everything is streamed from blobs into the zip: no WARC
/// file is held in memory. A job stored with the blobs store is refused rather than converted: its blobs keep no
/// response headers, so a WARC made of them would hold responses that were never sent.</summary>
internal sealed class WaczWriter(JobStore store, TimeProvider timeProvider)
{
    private const int CopyBufferBytes = 1024 * 1024;

    private sealed record Resource(string Path, long Bytes, string Hash);

    public async Task<WaczExport> WriteAsync(string jobId, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(destination);
        if (!CrawlJobValidator.IsValidJobId(jobId))
        {
            return new(WaczOutcome.InvalidJobId, "The job id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit.");
        }

        if (!(await store.Container.GetBlobClient(BlobNames.Job(jobId)).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value)
        {
            return new(WaczOutcome.NoSuchJob, $"No job '{jobId}' is stored.");
        }

        var warcFiles = new List<string>();
        await foreach (var item in store.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = BlobNames.WarcFolder(jobId) }, cancellationToken).ConfigureAwait(false))
        {
            warcFiles.Add(item.Name);
        }

        var index = store.Container.GetBlobClient(BlobNames.Index(jobId));
        if (warcFiles.Count == 0)
        {
            return new(WaczOutcome.NotWarc, $"Job '{jobId}' has no WARC files: it was stored with the blobs store (one blob per body, no response headers kept). Run the job again with the store option \"warc\" to export it.");
        }

        if (!(await index.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value)
        {
            return new(WaczOutcome.NotWarc, $"Job '{jobId}' has no index yet: its index is merged when the job finishes. Export it once it has.");
        }

        var resources = new List<Resource>();
        long pages;
        using (var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var name in warcFiles)
            {
                var path = "archive/" + name[BlobNames.WarcFolder(jobId).Length..];
                resources.Add(await CopyBlobAsync(zip, path, name, CompressionLevel.NoCompression, cancellationToken).ConfigureAwait(false));
            }

            resources.Add(await CopyBlobAsync(zip, "indexes/index.cdxj", index.Name, CompressionLevel.Optimal, cancellationToken).ConfigureAwait(false));
            (var pagesResource, pages) = await WritePagesAsync(zip, index.Name, cancellationToken).ConfigureAwait(false);
            resources.Add(pagesResource);
            await WriteDataPackageAsync(zip, jobId, resources, cancellationToken).ConfigureAwait(false);
        }

        return new(WaczOutcome.Written, string.Empty, warcFiles.Count, pages, resources.Sum(r => r.Bytes));
    }

    private async Task<Resource> CopyBlobAsync(ZipArchive zip, string path, string blobName, CompressionLevel level, CancellationToken cancellationToken)
    {
        var source = await store.Container.GetBlobClient(blobName).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 4 * 1024 * 1024 },
            cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var entry = zip.CreateEntry(path, level);
            var target = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (target.ConfigureAwait(false))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
                try
                {
                    long bytes = 0;
                    int read;
                    while ((read = await source.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                        await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        bytes += read;
                    }

                    return new Resource(path, bytes, "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
    }

    /// <summary>One line per 2xx capture in the index (the pages a reader opens; redirects and other statuses are still
    /// replayed from the index), after the header line the spec asks for.</summary>
    private async Task<(Resource Resource, long Pages)> WritePagesAsync(ZipArchive zip, string indexBlob, CancellationToken cancellationToken)
    {
        const string Path = "pages/pages.jsonl";
        var entry = zip.CreateEntry(Path, CompressionLevel.Optimal);
        var target = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (target.ConfigureAwait(false))
        {
            using var hashing = new HashingStream(target);
            long pages = 0;
            await using (var writer = new Utf8JsonWriter(hashing))
            {
                await hashing.WriteAsync("{\"format\":\"json-pages-1.0\",\"id\":\"pages\",\"title\":\"All Pages\"}\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                await foreach (var line in store.ReadLinesAsync(indexBlob, cancellationToken).ConfigureAwait(false))
                {
                    if (line.Length == 0 || CdxjEntry.Parse(line) is not { Status: >= 200 and < 300, Url: { } url } page)
                    {
                        continue;
                    }

                    writer.Reset();
                    writer.WriteStartObject();
                    writer.WriteString("url", url);
                    writer.WriteString("ts", IsoTimestamp(page.Timestamp));
                    writer.WriteEndObject();
                    await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                    hashing.WriteByte((byte)'\n');
                    pages++;
                }
            }

            return (new Resource(Path, hashing.Bytes, hashing.Hash()), pages);
        }
    }

    private async Task WriteDataPackageAsync(ZipArchive zip, string jobId, List<Resource> resources, CancellationToken cancellationToken)
    {
        var entry = zip.CreateEntry("datapackage.json", CompressionLevel.Optimal);
        var target = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (target.ConfigureAwait(false))
        {
            await using var writer = new Utf8JsonWriter(target, new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteString("profile", "data-package");
            writer.WriteString("wacz_version", "1.1.1");
            writer.WriteString("title", $"FetchFunctions job {jobId}");
            writer.WriteString("created", timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            writer.WriteString("software", "FetchFunctions " + typeof(WaczWriter).Assembly.GetName().Version);
            writer.WriteStartArray("resources");
            foreach (var resource in resources)
            {
                writer.WriteStartObject();
                writer.WriteString("name", resource.Path[(resource.Path.LastIndexOf('/') + 1)..]);
                writer.WriteString("path", resource.Path);
                writer.WriteString("hash", resource.Hash);
                writer.WriteNumber("bytes", resource.Bytes);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A CDXJ timestamp (yyyyMMddHHmmss) as ISO 8601, as pages.jsonl has it; left as it is when it is not one.</summary>
    private static string IsoTimestamp(string timestamp) =>
        DateTime.TryParseExact(timestamp, "yyyyMMddHHmmss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)
            : timestamp;

    /// <summary>Counts and hashes what passes through to the zip entry.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long Bytes { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Bytes;

        public override long Position { get => Bytes; set => throw new NotSupportedException(); }

        public string Hash() => "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            Bytes += buffer.Length;
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _hash.AppendData(buffer.Span);
            Bytes += buffer.Length;
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
