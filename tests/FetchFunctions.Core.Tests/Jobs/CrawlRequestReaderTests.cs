using System.Text;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class CrawlRequestReaderTests
{
    /// <summary>A job body padded with spaces (valid JSON whitespace) to exactly <paramref name="length"/> bytes.</summary>
    private static byte[] JobBody(int length)
    {
        var json = """{"jobId":"job-1","urls":["https://example.org/"]}""";
        return Encoding.UTF8.GetBytes(json + new string(' ', length - Encoding.UTF8.GetByteCount(json)));
    }

    private static Task<CrawlRequestRead> ReadAsync(Stream body, long? declaredLength, long maxBytes) =>
        CrawlRequestReader.ReadAsync(body, declaredLength, maxBytes, CancellationToken.None);

    [Fact]
    public async Task ReadAsync_BodyOfExactlyTheLimit_ReturnsTheJob()
    {
        var body = JobBody(1000);

        var read = await ReadAsync(new MemoryStream(body), body.Length, maxBytes: 1000);

        Assert.Null(read.Problem);
        Assert.Equal("job-1", read.Job?.JobId);
        Assert.Equal(["https://example.org/"], read.Job?.Urls);
    }

    [Fact]
    public async Task ReadAsync_OneByteOverTheLimit_IsTooLarge()
    {
        var body = JobBody(1001);

        var read = await ReadAsync(new MemoryStream(body), body.Length, maxBytes: 1000);

        Assert.Null(read.Job);
        Assert.Equal(CrawlRequestProblem.TooLarge, read.Problem);
        Assert.Contains("urlListBlob", read.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_ChunkedBodyOverTheLimit_StopsReadingJustPastIt()
    {
        var body = new ChunkedStream(JobBody(100_000), chunkSize: 100);

        var read = await ReadAsync(body, declaredLength: null, maxBytes: 1000);

        Assert.Equal(CrawlRequestProblem.TooLarge, read.Problem);
        Assert.InRange(body.BytesServed, 1001, 1100);
    }

    [Fact]
    public async Task ReadAsync_ChunkedBodyWithinTheLimit_ReturnsTheJob()
    {
        var read = await ReadAsync(new ChunkedStream(JobBody(1000), chunkSize: 7), declaredLength: null, maxBytes: 1000);

        Assert.Equal("job-1", read.Job?.JobId);
    }

    [Fact]
    public async Task ReadAsync_DeclaredLengthOverTheLimit_AnswersWithoutReading()
    {
        var body = new ChunkedStream(JobBody(2000), chunkSize: 100);

        var read = await ReadAsync(body, declaredLength: 2000, maxBytes: 1000);

        Assert.Equal(CrawlRequestProblem.TooLarge, read.Problem);
        Assert.Contains("2000", read.Detail, StringComparison.Ordinal);
        Assert.Equal(0, body.BytesServed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    public async Task ReadAsync_NoJob_IsEmpty(string text)
    {
        var read = await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), text.Length, maxBytes: 1000);

        Assert.Equal(CrawlRequestProblem.Empty, read.Problem);
    }

    [Theory]
    [InlineData("{\"urls\": [")]
    [InlineData("not json")]
    [InlineData("{\"urls\": \"https://example.org/\"}")]
    public async Task ReadAsync_NotAJob_IsMalformed(string text)
    {
        var read = await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), declaredLength: null, maxBytes: 1000);

        Assert.Null(read.Job);
        Assert.Equal(CrawlRequestProblem.Malformed, read.Problem);
        Assert.False(string.IsNullOrEmpty(read.Detail));
    }

    /// <summary>A body with no length that hands out at most <c>chunkSize</c> bytes per read, as a chunked upload arrives.</summary>
    private sealed class ChunkedStream(byte[] content, int chunkSize) : Stream
    {
        public int BytesServed { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => BytesServed;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, chunkSize), content.Length - BytesServed);
            content.AsSpan(BytesServed, n).CopyTo(buffer.AsSpan(offset, n));
            BytesServed += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = Math.Min(Math.Min(buffer.Length, chunkSize), content.Length - BytesServed);
            content.AsMemory(BytesServed, n).CopyTo(buffer);
            BytesServed += n;
            return ValueTask.FromResult(n);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
