using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using FetchFunctions.Core.Warc;

namespace FetchFunctions.Core.Tests.Warc;

public sealed class Crc32CombineTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(17, 4096)]
    [InlineData(1000, 123_457)]
    public void Combine_TwoParts_EqualsTheCrcOfBoth(int firstLength, int secondLength)
    {
        var random = new Random(firstLength + secondLength);
        var first = new byte[firstLength];
        var second = new byte[secondLength];
        random.NextBytes(first);
        random.NextBytes(second);

        var combined = Crc32Combine.Combine(Crc32.HashToUInt32(first), Crc32.HashToUInt32(second), secondLength);

        Assert.Equal(Crc32.HashToUInt32([.. first, .. second]), combined);
    }
}

public sealed class WarcDigestTests
{
    [Fact]
    public void Of_EmptyInput_IsTheWellKnownBase32Sha1()
    {
        // The digest of an empty payload as Heritrix, warcio and Common Crawl write it.
        Assert.Equal("sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", WarcDigest.Of([]));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("f", "MY======")]
    [InlineData("fooba", "MZXW6YTB")]
    [InlineData("foobar", "MZXW6YTBOI======")]
    public void Base32_Rfc4648Vectors_Match(string input, string expected) =>
        Assert.Equal(expected, WarcDigest.Base32(Encoding.ASCII.GetBytes(input)));
}

public sealed class SurtTests
{
    [Theory]
    [InlineData("http://www.Example.com/Path/Page?b=2&a=1", "com,example)/path/page?a=1&b=2")]
    [InlineData("https://example.com/", "com,example)/")]
    [InlineData("http://www2.example.co.uk:8080/x", "uk,co,example:8080)/x")]
    [InlineData("http://127.0.0.1:5000/bytes/10", "1,0,0,127:5000)/bytes/10")]
    [InlineData("http://wwwexample.com/", "com,wwwexample)/")]
    [InlineData("ftp://example.com/", "ftp://example.com/")]
    public void Of_Urls_AsWarcioComputesThem(string url, string expected) => Assert.Equal(expected, Surt.Of(url));
}

public sealed class GzipMemberTests
{
    [Fact]
    public void WriteWhole_Parts_DecompressToThemAsOneMember()
    {
        using var output = new MemoryStream();
        GzipMember.WriteWhole(output, "head "u8, "body"u8, [], "\r\n"u8);

        Assert.Equal("head body\r\n", Inflate(output.ToArray()));
    }

    [Fact]
    public void Segments_HeaderCompressedAfterBody_FormOneValidMember()
    {
        // What a streamed record does: the body's segment first, the header's last, the header listed first.
        var body = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("body text that repeats ", 5000)));
        using var bodyOut = new MemoryStream();
        uint bodyCrc;
        using (var segment = new DeflateSegment(bodyOut))
        {
            segment.Write(body);
            segment.Finish();
            bodyCrc = segment.Crc;
        }

        var header = "WARC/1.1\r\nheader\r\n\r\n"u8.ToArray();
        using var member = new MemoryStream();
        member.Write(GzipMember.Header);
        uint headerCrc;
        using (var segment = new DeflateSegment(member))
        {
            segment.Write(header);
            segment.Finish();
            headerCrc = segment.Crc;
        }

        member.Write(bodyOut.ToArray());
        var trailer = new byte[GzipMember.TrailerLength];
        GzipMember.WriteTrailer(trailer, Crc32Combine.Combine(headerCrc, bodyCrc, body.Length), header.Length + body.Length);
        member.Write(trailer);

        // zlib checks the member's CRC-32 and size: a wrong trailer fails here.
        Assert.Equal(Encoding.ASCII.GetString(header) + Encoding.ASCII.GetString(body), Inflate(member.ToArray()));
    }

    [Fact]
    public void WriteTrailer_WrongCrc_IsRejectedByAReader()
    {
        using var output = new MemoryStream();
        GzipMember.WriteWhole(output, "abc"u8, [], [], []);
        var bytes = output.ToArray();
        bytes[^5] ^= 0xff;

        Assert.ThrowsAny<InvalidDataException>(() => Inflate(bytes));
    }

    private static string Inflate(byte[] member)
    {
        using var gzip = new GZipStream(new MemoryStream(member), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.ASCII);
        return reader.ReadToEnd();
    }
}
