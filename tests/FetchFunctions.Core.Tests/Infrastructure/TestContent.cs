using System.Security.Cryptography;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>Deterministic body bytes: the server streams them, the tests recompute them.</summary>
internal static class TestContent
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Block <paramref name="index"/> of the stream for <paramref name="seed"/>: cheap, repeatable, not compressible.</summary>
    public static void FillBlock(int seed, long index, Span<byte> block)
    {
        var state = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ ((ulong)index + 1) * 0xBF58476D1CE4E5B9UL;
        for (var i = 0; i + 8 <= block.Length; i += 8)
        {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            BitConverter.TryWriteBytes(block[i..], state * 0x2545F4914F6CDD1DUL);
        }

        for (var i = block.Length - block.Length % 8; i < block.Length; i++)
        {
            block[i] = (byte)(state >> (i % 8 * 8));
        }
    }

    /// <summary>Writes <paramref name="length"/> bytes of the stream for <paramref name="seed"/>.</summary>
    public static async Task WriteAsync(Stream destination, int seed, long length, CancellationToken cancellationToken, int? chunkSize = null)
    {
        var block = new byte[BlockSize];
        long written = 0;
        for (long index = 0; written < length; index++)
        {
            FillBlock(seed, index, block);
            var take = (int)Math.Min(BlockSize, length - written);
            for (var offset = 0; offset < take; offset += chunkSize ?? take)
            {
                var size = Math.Min(chunkSize ?? take, take - offset);
                await destination.WriteAsync(block.AsMemory(offset, size), cancellationToken);
                await destination.FlushAsync(cancellationToken);
            }

            written += take;
        }
    }

    public static byte[] Bytes(int seed, int length)
    {
        using var memory = new MemoryStream();
        WriteAsync(memory, seed, length, CancellationToken.None).GetAwaiter().GetResult();
        return memory.ToArray();
    }

    public static string Sha256(int seed, long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var block = new byte[BlockSize];
        long done = 0;
        for (long index = 0; done < length; index++)
        {
            FillBlock(seed, index, block);
            var take = (int)Math.Min(BlockSize, length - done);
            hash.AppendData(block, 0, take);
            done += take;
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
