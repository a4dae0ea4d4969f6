namespace FetchFunctions.Core.Fetching;

/// <summary>The body exceeded the byte cap.</summary>
internal sealed class BodyTooLargeException(long limit) : IOException($"Body exceeds the limit of {limit} bytes.")
{
    public long Limit { get; } = limit;
}

/// <summary>Reading the body failed in mid-transfer (reset, truncated, wrong length): worth fetching again.</summary>
internal sealed class BodyReadException(string message, Exception inner) : IOException(message, inner);

/// <summary>No body bytes arrived within the idle timeout.</summary>
internal sealed class BodyIdleTimeoutException(TimeSpan idle) : TimeoutException($"No body bytes for {idle.TotalSeconds:0.###} s.");
