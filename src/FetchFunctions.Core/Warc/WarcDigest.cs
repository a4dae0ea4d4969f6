using System.Security.Cryptography;

namespace FetchFunctions.Core.Warc;

/// <summary>WARC digests as warcio, Heritrix and Common Crawl write and verify them: <c>sha1:</c> and the SHA-1 in
/// uppercase RFC 4648 base32 (32 characters, no padding needed for 20 bytes).</summary>
internal static class WarcDigest
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static string Format(ReadOnlySpan<byte> sha1) => "sha1:" + Base32(sha1);

    // SHA-1 is what the format's readers verify: an integrity check for interchange, not a security boundary.
#pragma warning disable CA5350
    public static string Of(ReadOnlySpan<byte> data) => Format(SHA1.HashData(data));

    public static IncrementalHash CreateHash() => IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
#pragma warning restore CA5350

    public static string Base32(ReadOnlySpan<byte> data)
    {
        var chars = new char[(data.Length * 8 + 4) / 5];
        var buffer = 0;
        var bits = 0;
        var index = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[index++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            chars[index] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        // 20 bytes are 160 bits, exactly 32 characters: SHA-1 digests never need '=' padding.
        var text = new string(chars);
        var padding = (8 - text.Length % 8) % 8;
        return padding == 0 ? text : text + new string('=', padding);
    }
}
