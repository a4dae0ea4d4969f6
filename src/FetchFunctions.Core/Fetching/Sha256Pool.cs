using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace FetchFunctions.Core.Fetching;

/// <summary>SHA-256 hashers reused from body to body: a new one costs a native digest context (created, initialised,
/// freed, finalizable) per body. Bounded; a hasher goes back reset, so the next body starts from nothing.</summary>
internal sealed class Sha256Pool(int capacity)
{
    private readonly ConcurrentQueue<IncrementalHash> _idle = new();
    private int _idleCount;

    public IncrementalHash Rent()
    {
        if (_idle.TryDequeue(out var hash))
        {
            Interlocked.Decrement(ref _idleCount);
            return hash;
        }

        return IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    /// <summary>Takes back a hasher from <see cref="Rent"/>, once. <paramref name="dirty"/>: it holds data not yet
    /// finalised (a body not read to its end), so it is reset first.</summary>
    public void Return(IncrementalHash hash, bool dirty)
    {
        ArgumentNullException.ThrowIfNull(hash);
        if (dirty)
        {
            Span<byte> discarded = stackalloc byte[SHA256.HashSizeInBytes];
            hash.TryGetHashAndReset(discarded, out _);
        }

        if (Interlocked.Increment(ref _idleCount) <= capacity)
        {
            _idle.Enqueue(hash);
            return;
        }

        Interlocked.Decrement(ref _idleCount);
        hash.Dispose();
    }
}
