using Azure.Core;
using Azure.Core.Pipeline;

namespace FetchFunctions.Benchmarks;

/// <summary>Counts the storage requests a client sends (retries included: each is billed), by kind: writes (PUT: Put Blob,
/// Put Block, Put Block List) and everything else. One instance per measured side.</summary>
internal sealed class RequestCounter : HttpPipelinePolicy
{
    /// <summary>Hot LRS block blob write operations, per 10,000 (the price the issue lists).</summary>
    public const double DollarsPer10kWrites = 0.055;

    private long _writes;
    private long _others;

    public long Writes => Interlocked.Read(ref _writes);

    public long Others => Interlocked.Read(ref _others);

    public void Reset()
    {
        Interlocked.Exchange(ref _writes, 0);
        Interlocked.Exchange(ref _others, 0);
    }

    public static double Dollars(double writes) => writes / 10_000 * DollarsPer10kWrites;

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Count(message);
        ProcessNext(message, pipeline);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Count(message);
        return ProcessNextAsync(message, pipeline);
    }

    private void Count(HttpMessage message) => Interlocked.Increment(ref message.Request.Method == RequestMethod.Put ? ref _writes : ref _others);
}
