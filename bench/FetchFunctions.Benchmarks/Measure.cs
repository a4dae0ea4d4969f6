using System.Diagnostics;
using System.Globalization;

namespace FetchFunctions.Benchmarks;

/// <summary>Wall time and this process's CPU time of one measured run.</summary>
internal readonly record struct Sample(TimeSpan Wall, TimeSpan Cpu)
{
    public double Rate(int count) => count / Wall.TotalSeconds;

    public double CpuMicrosecondsPer(int count) => Cpu.TotalMicroseconds / count;

    public static Sample operator +(Sample left, Sample right) => new(left.Wall + right.Wall, left.Cpu + right.Cpu);
}

/// <summary>One side of one measured run as a child process reports it: wall and CPU seconds over <see cref="Count"/> items.</summary>
internal sealed record RunSample(double WallSeconds, double CpuSeconds, int Count)
{
    public static RunSample Of(Sample sample, int count) => new(sample.Wall.TotalSeconds, sample.Cpu.TotalSeconds, count);

    public double Rate => Count / WallSeconds;

    public double CpuMicrosecondsPerItem => CpuSeconds * 1e6 / Count;
}

internal static class Measure
{
    /// <summary>Runs <paramref name="work"/> after a full collection, so one run's garbage is not the next one's cost.</summary>
    public static async Task<Sample> RunAsync(Func<Task> work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var cpu = Environment.CpuUsage.TotalTime;
        var started = Stopwatch.GetTimestamp();
        await work().ConfigureAwait(false);
        return new Sample(Stopwatch.GetElapsedTime(started), Environment.CpuUsage.TotalTime - cpu);
    }

    /// <summary>Repeats <paramref name="batch"/> for at least <paramref name="minimum"/>: tiered compilation (and dynamic PGO)
    /// needs seconds of calls before the code is the steady-state code a long-running worker runs.</summary>
    public static async Task WarmUpAsync(TimeSpan minimum, Func<Task> batch)
    {
        var started = Stopwatch.GetTimestamp();
        do
        {
            await batch().ConfigureAwait(false);
        }
        while (Stopwatch.GetElapsedTime(started) < minimum);
    }

    /// <summary>Runs <paramref name="count"/> items at most <paramref name="concurrency"/> at a time.</summary>
    public static Task ForEachAsync(int count, int concurrency, Func<int, CancellationToken, ValueTask> body, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, (i, ct) => body(i, ct));

    /// <summary>The peak resident set size of this process, as Linux reports it (VmHWM); null elsewhere.</summary>
    public static long? PeakRssBytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kib = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return null;
    }

    /// <summary>Prints progress to standard error, so standard output stays the table.</summary>
    public static void Progress(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    /// <summary>Runs in pairs, alternating which side goes first so drift on a shared machine hits both alike.</summary>
    public static bool BaselineFirst(int run) => run % 2 == 1;

    /// <summary>Runs both sides in interleaved chunks, so a burst of load from elsewhere on a shared machine lands on both
    /// alike; a side's sample is the sum of its chunks. Time-based: chunks of <paramref name="chunk"/> items go through both
    /// sides, alternating which goes first, until each side has run for at least <paramref name="minimum"/> (summed over
    /// its chunks) and at least <paramref name="minimumCount"/> items went through each. Each side gets
    /// the first index and count of a chunk and returns the work, so building requests stays outside the measurement.</summary>
    public static async Task<(RunSample Engine, RunSample Baseline)> InterleavedForAsync(
        int chunk, int minimumCount, TimeSpan minimum, int run, Func<int, int, Func<Task>> engine, Func<int, int, Func<Task>> baseline)
    {
        var engineSum = default(Sample);
        var baselineSum = default(Sample);
        var done = 0;
        for (var round = 0; done < minimumCount || engineSum.Wall < minimum || baselineSum.Wall < minimum; round++)
        {
            var engineFirst = !BaselineFirst(run + round);
            foreach (var isEngine in new[] { engineFirst, !engineFirst })
            {
                if (isEngine)
                {
                    engineSum += await RunAsync(engine(done, chunk)).ConfigureAwait(false);
                }
                else
                {
                    baselineSum += await RunAsync(baseline(done, chunk)).ConfigureAwait(false);
                }
            }

            done += chunk;
        }

        return (RunSample.Of(engineSum, done), RunSample.Of(baselineSum, done));
    }

    /// <summary>Count-based interleaving (part 7): both sides run the same slices of <paramref name="count"/> items in
    /// <paramref name="chunks"/> chunks, alternating which goes first; a side's sample is the sum of its chunks.</summary>
    public static async Task<(Sample Engine, Sample Baseline)> InterleavedAsync(
        int count, int chunks, int run, Func<Range, Task> engine, Func<Range, Task> baseline)
    {
        var chunk = Math.Max(1, count / chunks);
        var engineSum = default(Sample);
        var baselineSum = default(Sample);
        for (var first = 0; first < count; first += chunk)
        {
            var slice = first..Math.Min(count, first + chunk);
            var engineFirst = !BaselineFirst(run + first / chunk);
            foreach (var isEngine in new[] { engineFirst, !engineFirst })
            {
                if (isEngine)
                {
                    engineSum += await RunAsync(() => engine(slice)).ConfigureAwait(false);
                }
                else
                {
                    baselineSum += await RunAsync(() => baseline(slice)).ConfigureAwait(false);
                }
            }
        }

        return (engineSum, baselineSum);
    }

    /// <summary>One side alone, in chunks, until it has run for at least <paramref name="minimum"/>.</summary>
    public static async Task<RunSample> RunForAsync(int chunk, TimeSpan minimum, Func<int, int, Func<Task>> work)
    {
        var sum = default(Sample);
        var done = 0;
        while (sum.Wall < minimum)
        {
            sum += await RunAsync(work(done, chunk)).ConfigureAwait(false);
            done += chunk;
        }

        return RunSample.Of(sum, done);
    }
}
