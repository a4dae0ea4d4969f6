using FetchFunctions.Core.Discovery;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class BodyPrefixCaptureTests
{
    private static (BodyPrefixCapture Capture, CaptureReadStream Stream) CreateSut(byte[] body, int cap)
    {
        var capture = new BodyPrefixCapture(cap);
        return (capture, new CaptureReadStream(new MemoryStream(body), capture));
    }

    private static byte[] Body(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i % 251))];

    [Fact]
    public async Task ReadThrough_BodyWithinTheCap_KeepsItAllAndPassesItOnUnchanged()
    {
        var body = Body(100_000);
        var (capture, stream) = CreateSut(body, 1 << 20);
        using var _ = capture;
        var copy = new MemoryStream();

        await stream.CopyToAsync(copy, 7_000);

        Assert.Equal(body, copy.ToArray());
        Assert.Equal(body, capture.Captured.ToArray());
        Assert.False(capture.Truncated);
    }

    [Fact]
    public async Task ReadThrough_BodyOverTheCap_KeepsTheCapAndSaysTruncated()
    {
        var body = Body(50_000);
        var (capture, stream) = CreateSut(body, 20_000);
        using var _ = capture;
        var copy = new MemoryStream();

        await stream.CopyToAsync(copy, 3_000);

        Assert.Equal(body, copy.ToArray());
        Assert.Equal(body.AsSpan(0, 20_000).ToArray(), capture.Captured.ToArray());
        Assert.True(capture.Truncated);
    }

    [Fact]
    public void Read_SynchronousReads_AreCapturedToo()
    {
        var body = Body(10);
        var (capture, stream) = CreateSut(body, 4);
        using var _ = capture;

        stream.CopyTo(Stream.Null);

        Assert.Equal(body.AsSpan(0, 4).ToArray(), capture.Captured.ToArray());
        Assert.True(capture.Truncated);
    }

    [Fact]
    public void Dispose_Capture_MakesItUnreadable()
    {
        var capture = new BodyPrefixCapture(16);
        capture.Append([1, 2, 3]);

        capture.Dispose();

        Assert.Throws<ObjectDisposedException>(() => capture.Captured);
    }

    [Fact]
    public void Dispose_Stream_DisposesTheInnerStreamNotTheCapture()
    {
        var inner = new MemoryStream([1, 2, 3]);
        using var capture = new BodyPrefixCapture(16);
        var stream = new CaptureReadStream(inner, capture);
        stream.CopyTo(Stream.Null);

        stream.Dispose();

        Assert.False(inner.CanRead);
        Assert.Equal([1, 2, 3], capture.Captured.ToArray());
    }
}
