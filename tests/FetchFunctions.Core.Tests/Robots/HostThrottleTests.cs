using FetchFunctions.Core.Robots;

namespace FetchFunctions.Core.Tests.Robots;

public sealed class HostThrottleTests
{
    private static HostThrottle CreateSut(int concurrency = 8, HostBackoff? state = null, int maxDelaySeconds = 10) =>
        new(concurrency, state ?? HostBackoff.None, TimeSpan.FromSeconds(maxDelaySeconds));

    private static void Answer(HostThrottle sut, int status, int times)
    {
        for (var i = 0; i < times; i++)
        {
            sut.Record(status);
        }
    }

    [Fact]
    public void Record_Repeated429Or503_HalvesConcurrencyThenDoublesDelayUpToTheCap()
    {
        var sut = CreateSut(concurrency: 8, maxDelaySeconds: 5);
        var steps = new List<(int, TimeSpan)>();

        for (var i = 0; i < 7; i++)
        {
            sut.Record(429);
            sut.Record(503);
            steps.Add((sut.Concurrency, sut.Delay));
        }

        Assert.Equal([(4, TimeSpan.Zero), (2, TimeSpan.Zero), (1, TimeSpan.Zero), (1, TimeSpan.FromSeconds(1)), (1, TimeSpan.FromSeconds(2)),
            (1, TimeSpan.FromSeconds(4)), (1, TimeSpan.FromSeconds(5))], steps);
        Assert.Equal(14, sut.Throttled);
        Assert.True(sut.Slowed);
        Assert.Equal(new HostBackoff(1, TimeSpan.FromSeconds(5)), sut.State);
    }

    [Fact]
    public void Record_OneThrottledAnswer_ChangesNothing()
    {
        var sut = CreateSut();

        sut.Record(503);
        Answer(sut, 200, 5);

        Assert.Equal((8, TimeSpan.Zero, false, false), (sut.Concurrency, sut.Delay, sut.Slowed, sut.Changed));
    }

    [Fact]
    public void Record_SuccessesInARow_RecoverDelayFirstThenOneSlotAtATime()
    {
        var sut = CreateSut(concurrency: 4, state: new HostBackoff(1, TimeSpan.FromSeconds(4)));
        var steps = new List<(int, TimeSpan)>();

        for (var i = 0; i < 6; i++)
        {
            Answer(sut, 200, HostThrottle.SuccessesToRecover);
            steps.Add((sut.Concurrency, sut.Delay));
        }

        Assert.Equal([(1, TimeSpan.FromSeconds(2)), (1, TimeSpan.FromSeconds(1)), (1, TimeSpan.Zero), (2, TimeSpan.Zero), (3, TimeSpan.Zero),
            (4, TimeSpan.Zero)], steps);
        Assert.Equal(HostBackoff.None, sut.State);
        Assert.True(sut.Changed);
    }

    [Fact]
    public void Record_AnswersWithoutStatus_AreNeither()
    {
        var sut = CreateSut(concurrency: 4, state: new HostBackoff(2, TimeSpan.Zero));

        for (var i = 0; i < 3 * HostThrottle.SuccessesToRecover; i++)
        {
            sut.Record(null);
        }

        Assert.Equal(2, sut.Concurrency);
        Assert.False(sut.Changed);
    }

    [Fact]
    public void Constructor_StoredState_IsClampedToTheBatchLimits()
    {
        var sut = CreateSut(concurrency: 2, state: new HostBackoff(6, TimeSpan.FromMinutes(5)), maxDelaySeconds: 3);

        Assert.Equal((2, TimeSpan.FromSeconds(3), true), (sut.Concurrency, sut.Delay, sut.Slowed));
    }

    [Fact]
    public async Task EnterAsync_AfterSlowDown_AdmitsOnlyTheNewConcurrency()
    {
        var sut = CreateSut(concurrency: 4);
        for (var i = 0; i < 4; i++)
        {
            await sut.EnterAsync(CancellationToken.None);
        }

        var waiting = Enumerable.Range(0, 3).Select(_ => sut.EnterAsync(CancellationToken.None)).ToList();
        Answer(sut, 503, 4);
        sut.Exit();
        sut.Exit();
        sut.Exit();
        Assert.All(waiting, w => Assert.False(w.IsCompleted));

        sut.Exit();
        await waiting[0];
        Assert.False(waiting[1].IsCompleted);
        sut.Exit();
        await waiting[1];
    }

    [Fact]
    public async Task EnterAsync_Cancelled_ThrowsAndGivesTheSlotToTheNext()
    {
        var sut = CreateSut(concurrency: 1);
        await sut.EnterAsync(CancellationToken.None);
        using var cancellation = new CancellationTokenSource();
        var cancelled = sut.EnterAsync(cancellation.Token);
        var next = sut.EnterAsync(CancellationToken.None);

        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        sut.Exit();

        await next;
    }
}
