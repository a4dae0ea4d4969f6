namespace FetchFunctions.Core.Robots;

/// <summary>Slows an origin down when it answers 429 or 503 repeatedly, and lets it recover gradually: every
/// <see cref="ThrottledToSlowDown"/> such answers halve its concurrency (down to 1), and once it is at 1 double its delay
/// (from <see cref="FirstDelay"/> up to the cap); every <see cref="SuccessesToRecover"/> other answers in a row undo one
/// step (the delay halves away first, then the concurrency grows by one). Thread-safe; it also limits the requests in
/// flight to its current concurrency.</summary>
internal sealed class HostThrottle
{
    public const int ThrottledToSlowDown = 2;
    public const int SuccessesToRecover = 10;
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private readonly int _baseConcurrency;
    private readonly TimeSpan _maxDelay;
    private readonly HostBackoff _loaded;
    private int _concurrency;
    private TimeSpan _delay;
    private int _inFlight;
    private int _throttledSinceStep;
    private int _successesSinceStep;

    public HostThrottle(int baseConcurrency, HostBackoff state, TimeSpan maxDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(baseConcurrency, 1);
        ArgumentNullException.ThrowIfNull(state);
        _baseConcurrency = baseConcurrency;
        _maxDelay = maxDelay;
        _loaded = state;
        _concurrency = Math.Clamp(state.Concurrency ?? baseConcurrency, 1, baseConcurrency);
        _delay = state.Delay > maxDelay ? maxDelay : state.Delay;
        Slowed = IsSlow;
    }

    /// <summary>429 and 503 answers seen by this instance.</summary>
    public long Throttled { get; private set; }

    /// <summary>Whether the origin ran below its limits at any time (including when it started so).</summary>
    public bool Slowed { get; private set; }

    public int Concurrency
    {
        get
        {
            lock (_lock)
            {
                return _concurrency;
            }
        }
    }

    public TimeSpan Delay
    {
        get
        {
            lock (_lock)
            {
                return _delay;
            }
        }
    }

    /// <summary>The state to keep for later batches.</summary>
    public HostBackoff State
    {
        get
        {
            lock (_lock)
            {
                return new HostBackoff(_concurrency >= _baseConcurrency ? null : _concurrency, _delay);
            }
        }
    }

    /// <summary>Whether <see cref="State"/> differs from what this instance started from.</summary>
    public bool Changed => State != _loaded;

    private bool IsSlow => _concurrency < _baseConcurrency || _delay > TimeSpan.Zero;

    /// <summary>Waits for one of the origin's current slots.</summary>
    public Task EnterAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (_inFlight < _concurrency)
            {
                _inFlight++;
                return Task.CompletedTask;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        return WaitAsync(waiter, cancellationToken);
    }

    /// <summary>Records a fetch's answer. Call it before <see cref="Exit"/>, so a slow-down takes the freed slot.</summary>
    public void Record(int? status)
    {
        lock (_lock)
        {
            if (status is 429 or 503)
            {
                Throttled++;
                _successesSinceStep = 0;
                if (++_throttledSinceStep >= ThrottledToSlowDown)
                {
                    _throttledSinceStep = 0;
                    if (_concurrency > 1)
                    {
                        _concurrency = Math.Max(1, _concurrency / 2);
                    }
                    else
                    {
                        var doubled = _delay <= TimeSpan.Zero ? FirstDelay : _delay * 2;
                        _delay = doubled > _maxDelay ? _maxDelay : doubled;
                    }
                }
            }
            else if (status is not null && ++_successesSinceStep >= SuccessesToRecover)
            {
                _successesSinceStep = 0;
                _throttledSinceStep = 0;
                if (_delay > TimeSpan.Zero)
                {
                    _delay = _delay / 2 < FirstDelay ? TimeSpan.Zero : _delay / 2;
                }
                else if (_concurrency < _baseConcurrency)
                {
                    _concurrency++;
                }
            }

            Slowed |= IsSlow;
        }
    }

    public void Exit()
    {
        lock (_lock)
        {
            _inFlight--;
            while (_inFlight < _concurrency && _waiters.TryDequeue(out var next))
            {
                if (next.TrySetResult())
                {
                    _inFlight++;
                }
            }
        }
    }

    private static async Task WaitAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetCanceled(), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }
}
