using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Tests.Warc;

/// <summary>One WARC record as the tests read it back, independently of the writer: header fields, and the block.</summary>
internal sealed record TestRecord(IReadOnlyDictionary<string, string> Fields, byte[] Block)
{
    public string Type => Fields["WARC-Type"];

    public string? this[string name] => Fields.TryGetValue(name, out var value) ? value : null;

    /// <summary>The HTTP head of a request or response block, up to and including its blank line.</summary>
    public string HttpHead => Encoding.ASCII.GetString(Block, 0, HeadLength);

    public byte[] Payload => Block[HeadLength..];

    public string? HttpHeader(string name) => HttpHead.Split("\r\n").Skip(1)
        .Select(line => line.Split(':', 2)).Where(parts => parts.Length == 2 && parts[0].Equals(name, StringComparison.OrdinalIgnoreCase))
        .Select(parts => parts[1].Trim()).FirstOrDefault();

    private int HeadLength => Block.AsSpan().IndexOf("\r\n\r\n"u8) + 4;

    // SHA-1 as the WARC digests are defined: recomputed here, not by the writer's code.
#pragma warning disable CA5350
    public static string Sha1Base32(byte[] data) => "sha1:" + WarcDigest.Base32(SHA1.HashData(data));
#pragma warning restore CA5350
}

internal static class WarcTestRecords
{
    /// <summary>Reads a whole gzip member range into exactly one record; throws when the bytes hold anything more or less.</summary>
    public static TestRecord ParseOne(byte[] member)
    {
        using var gzip = new GZipStream(new MemoryStream(member), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        var bytes = plain.ToArray();
        var (record, end) = Parse(bytes, 0);
        Assert.Equal(bytes.Length, end);
        return record;
    }

    /// <summary>All records of a whole .warc.gz file (members decompressed as one stream).</summary>
    public static IReadOnlyList<TestRecord> ParseAll(byte[] file)
    {
        using var gzip = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        var bytes = plain.ToArray();
        var records = new List<TestRecord>();
        var position = 0;
        while (position < bytes.Length)
        {
            var (record, end) = Parse(bytes, position);
            records.Add(record);
            position = end;
        }

        return records;
    }

    public static async Task<byte[]> DownloadAsync(BlobContainerClient container, string name, long? offset = null, long? length = null)
    {
        var options = offset is null ? new BlobDownloadOptions() : new BlobDownloadOptions { Range = new Azure.HttpRange(offset.Value, length) };
        var result = await container.GetBlobClient(name).DownloadContentAsync(options);
        return result.Value.Content.ToArray();
    }

    private static (TestRecord Record, int End) Parse(byte[] bytes, int start)
    {
        var headerEnd = bytes.AsSpan(start).IndexOf("\r\n\r\n"u8) + start;
        var lines = Encoding.ASCII.GetString(bytes, start, headerEnd - start).Split("\r\n");
        Assert.Equal("WARC/1.1", lines[0]);
        var fields = lines.Skip(1).Select(line => line.Split(':', 2)).ToDictionary(parts => parts[0], parts => parts[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var length = int.Parse(fields["Content-Length"], CultureInfo.InvariantCulture);
        var blockStart = headerEnd + 4;
        var block = bytes[blockStart..(blockStart + length)];
        Assert.Equal("\r\n\r\n"u8.ToArray(), bytes[(blockStart + length)..(blockStart + length + 4)]);
        return (new TestRecord(fields, block), blockStart + length + 4);
    }
}
