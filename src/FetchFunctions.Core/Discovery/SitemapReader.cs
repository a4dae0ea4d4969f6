using System.IO.Compression;
using System.Xml;

namespace FetchFunctions.Core.Discovery;

internal enum SitemapKind
{
    /// <summary>Not a sitemap: no <c>urlset</c> or <c>sitemapindex</c> root, or not XML.</summary>
    None,
    UrlSet,
    Index,
}

/// <summary>One sitemap file as read: its kind, the <c>loc</c> values it lists (page URLs of a urlset, sitemap URLs of an
/// index) up to the protocol's limit, and whether reading stopped at a limit or at broken XML.</summary>
internal sealed record SitemapDocument(SitemapKind Kind, IReadOnlyList<string> Locations, bool OverLimit, string? Problem);

/// <summary>Reads one sitemap file (sitemaps.org protocol) from a stream as it arrives: gzip is recognised by its magic
/// bytes (servers label it every which way), the XML is read forward-only with DTDs prohibited (no entity expansion, no
/// external fetches), and the protocol's limits hold: at most 50,000 <c>loc</c>s and 50 MiB uncompressed per file.
/// What was read before a limit or an XML error is kept.</summary>
internal static class SitemapReader
{
    public const int MaxLocations = 50_000;
    public const long MaxUncompressedBytes = 50L * 1024 * 1024;

    /// <summary>Longest <c>loc</c> kept (the protocol's 2,048 characters).</summary>
    public const int MaxLocationLength = 2048;

    public static Task<SitemapDocument> ReadAsync(Stream body, CancellationToken cancellationToken) =>
        ReadAsync(body, MaxUncompressedBytes, cancellationToken);

    /// <summary>As <see cref="ReadAsync(Stream, CancellationToken)"/> with another byte limit (tests).</summary>
    internal static async Task<SitemapDocument> ReadAsync(Stream body, long maxUncompressedBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var head = new byte[2];
        var headLength = 0;
        while (headLength < head.Length && await body.ReadAsync(head.AsMemory(headLength), cancellationToken).ConfigureAwait(false) is var read and > 0)
        {
            headLength += read;
        }

        Stream content = new PrefixedStream(head.AsMemory(0, headLength), body);
        if (headLength == 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            content = new GZipStream(content, CompressionMode.Decompress);
        }

        var limited = new LimitStream(content, maxUncompressedBytes);
        await using (limited.ConfigureAwait(false))
        {
            var settings = new XmlReaderSettings
            {
                Async = true,
                DtdProcessing = DtdProcessing.Prohibit,
                XmlResolver = null,
                IgnoreComments = true,
                IgnoreProcessingInstructions = true,
                IgnoreWhitespace = true,
                CloseInput = false,
            };
            var kind = SitemapKind.None;
            var locations = new List<string>();
            try
            {
                using var reader = XmlReader.Create(limited, settings);
                while (await reader.ReadAsync().ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (reader.NodeType != XmlNodeType.Element)
                    {
                        continue;
                    }

                    if (kind == SitemapKind.None)
                    {
                        kind = reader.LocalName switch
                        {
                            "urlset" => SitemapKind.UrlSet,
                            "sitemapindex" => SitemapKind.Index,
                            _ => SitemapKind.None,
                        };
                        if (kind == SitemapKind.None)
                        {
                            return new SitemapDocument(SitemapKind.None, [], false, $"The root element is <{reader.LocalName}>, not <urlset> or <sitemapindex>.");
                        }

                        continue;
                    }

                    if (reader.LocalName != "loc")
                    {
                        continue;
                    }

                    var location = (await reader.ReadElementContentAsStringAsync().ConfigureAwait(false)).Trim();
                    if (location.Length is 0 or > MaxLocationLength)
                    {
                        continue;
                    }

                    if (locations.Count == MaxLocations)
                    {
                        return new SitemapDocument(kind, locations, true, null);
                    }

                    locations.Add(location);
                }
            }
            catch (XmlException ex)
            {
                // A file cut at the byte limit ends mid-element: that is the limit, not broken XML.
                return new SitemapDocument(kind, locations, limited.OverLimit, limited.OverLimit ? null : $"Not well-formed XML: {ex.Message}");
            }
            catch (InvalidDataException ex)
            {
                return new SitemapDocument(kind, locations, limited.OverLimit, limited.OverLimit ? null : $"Broken gzip: {ex.Message}");
            }

            return new SitemapDocument(kind, locations, limited.OverLimit, null);
        }
    }

    /// <summary>Replays bytes already read in front of the rest of a stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!prefix.IsEmpty)
            {
                var count = Math.Min(prefix.Length, buffer.Length);
                prefix[..count].CopyTo(buffer);
                prefix = prefix[count..];
                return count;
            }

            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the stream at the limit (as if the file ended there) and says so: the XML reader then reports the
    /// cut, and what came before is kept.</summary>
    private sealed class LimitStream(Stream inner, long limit) : ReadOnlyStream
    {
        private long _read;

        public bool OverLimit { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_read >= limit)
            {
                // One byte more proves the file is over the limit rather than exactly at it.
                var probe = new byte[1];
                OverLimit |= await inner.ReadAsync(probe, cancellationToken).ConfigureAwait(false) > 0;
                return 0;
            }

            var room = (int)Math.Min(buffer.Length, limit - _read);
            var read = await inner.ReadAsync(buffer[..room], cancellationToken).ConfigureAwait(false);
            _read += read;
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>The plumbing of a forward-only read stream; subclasses implement <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
