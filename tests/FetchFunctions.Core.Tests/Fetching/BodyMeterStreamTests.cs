using System.Security.Cryptography;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Tests.Infrastructure;

namespace FetchFunctions.Core.Tests.Fetching;

public sealed class BodyMeterStreamTests
{
    private static BodyMeterStream CreateSut(byte[] body, Sha256Pool pool) =>
        new(new MemoryStream(body, writable: false), maxBytes: 1 << 20, TimeSpan.FromSeconds(30), TimeProvider.System, pool);

    private static async Task<string> ReadToEndAsync(BodyMeterStream body)
    {
        await body.CopyToAsync(Stream.Null);
        return body.GetSha256();
    }

    [Fact]
    public async Task GetSha256_PooledHasherAfterAnAbandonedBody_HashesOnlyTheNextBody()
    {
        var pool = new Sha256Pool(capacity: 1);
        await using (var abandoned = CreateSut(TestContent.Bytes(1, 5_000), pool))
        {
            // Part of a body read, then dropped (a body that broke off): its bytes must not leak into the next hash.
            var buffer = new byte[1_000];
            Assert.Equal(1_000, await abandoned.ReadAsync(buffer));
        }

        await using var next = CreateSut(TestContent.Bytes(2, 3_000), pool);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(TestContent.Bytes(2, 3_000))), await ReadToEndAsync(next));
    }

    [Fact]
    public async Task Dispose_Twice_HandsTheHasherBackOnce()
    {
        var pool = new Sha256Pool(capacity: 4);
        var first = CreateSut(TestContent.Bytes(3, 2_000), pool);
        await ReadToEndAsync(first);
        await first.DisposeAsync();
        await first.DisposeAsync();

        // Two bodies at once get two hashers: one returned twice would be shared and mix their bytes.
        await using var a = CreateSut(TestContent.Bytes(4, 2_000), pool);
        await using var b = CreateSut(TestContent.Bytes(5, 2_000), pool);
        var buffer = new byte[500];
        for (var i = 0; i < 4; i++)
        {
            await a.ReadExactlyAsync(buffer);
            await b.ReadExactlyAsync(buffer);
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(TestContent.Bytes(4, 2_000))), await ReadToEndAsync(a));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(TestContent.Bytes(5, 2_000))), await ReadToEndAsync(b));
    }
}
