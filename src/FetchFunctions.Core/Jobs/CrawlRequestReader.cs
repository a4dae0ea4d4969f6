using System.Globalization;
using System.Text.Json;

namespace FetchFunctions.Core.Jobs;

/// <summary>Why a request body gave no job.</summary>
public enum CrawlRequestProblem
{
    /// <summary>No body, or the JSON literal <c>null</c>.</summary>
    Empty,

    /// <summary>Not a JSON object of the job's shape.</summary>
    Malformed,

    /// <summary>More bytes than <c>Crawl:MaxRequestBodyBytes</c>, declared or sent.</summary>
    TooLarge,
}

/// <summary>A request body read as a job: the job, or the problem and a sentence for the caller.</summary>
public sealed record CrawlRequestRead(CrawlJobRequest? Job, CrawlRequestProblem? Problem, string? Detail, long MaxBytes)
{
    public static CrawlRequestRead Failed(CrawlRequestProblem problem, string detail, long maxBytes) => new(null, problem, detail, maxBytes);
}

/// <summary>Reads a job from a request body with a cap on its size: a body declared bigger is refused before a byte is
/// read, and an undeclared (chunked) one is refused at the first byte past the cap, so a huge upload costs neither
/// memory nor parsing time. Bigger jobs reference a URL list blob instead.</summary>
internal static class CrawlRequestReader
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<CrawlRequestRead> ReadAsync(Stream body, long? declaredLength, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        if (declaredLength > maxBytes)
        {
            return TooLarge(maxBytes, declaredLength.Value);
        }

        var limited = new CappedReadStream(body, maxBytes);
        CrawlJobRequest? job;
        try
        {
            job = await JsonSerializer.DeserializeAsync<CrawlJobRequest>(limited, Json, cancellationToken).ConfigureAwait(false);
        }
        catch (BodyTooLargeException)
        {
            return TooLarge(maxBytes, declared: null);
        }
        catch (JsonException) when (limited.BytesRead == 0)
        {
            return Empty(maxBytes);
        }
        catch (JsonException exception)
        {
            // The parser's message names the position (line, byte), never the body's content.
            return CrawlRequestRead.Failed(CrawlRequestProblem.Malformed, exception.Message, maxBytes);
        }

        return job is null ? Empty(maxBytes) : new CrawlRequestRead(job, null, null, maxBytes);
    }

    private static CrawlRequestRead Empty(long maxBytes) =>
        CrawlRequestRead.Failed(CrawlRequestProblem.Empty, "Send the crawl job as a JSON object.", maxBytes);

    private static CrawlRequestRead TooLarge(long maxBytes, long? declared)
    {
        var size = declared is { } length
            ? string.Create(CultureInfo.InvariantCulture, $"declares {length} bytes")
            : "is longer";
        return CrawlRequestRead.Failed(CrawlRequestProblem.TooLarge, string.Create(CultureInfo.InvariantCulture,
            $"The body {size}; at most {maxBytes} bytes are read (Crawl:MaxRequestBodyBytes). Store a bigger URL list as a blob and name it in urlListBlob."),
            maxBytes);
    }

    private sealed class BodyTooLargeException() : IOException("The request body is over its size limit.");

    /// <summary>Passes reads through until one would go past the cap, then throws: it reads one byte more than the cap
    /// allows, so a body of exactly the cap passes and one byte over does not.</summary>
    private sealed class CappedReadStream(Stream inner, long maxBytes) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => BytesRead;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer[..Allowed(buffer.Length)]);
            return Count(read);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken).ConfigureAwait(false);
            return Count(read);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        // Up to one byte past the cap, which is how a body one byte over is told from one that ends at the cap.
        private int Allowed(int requested) => (int)Math.Min(requested, maxBytes + 1 - BytesRead);

        private int Count(int read)
        {
            BytesRead += read;
            return BytesRead > maxBytes ? throw new BodyTooLargeException() : read;
        }
    }
}
