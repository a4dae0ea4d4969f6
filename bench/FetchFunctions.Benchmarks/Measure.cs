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

    /// <summary>Runs <paramref name="count"/> items through both sides in <paramref name="chunks"/> interleaved chunks,
    /// alternating which side goes first, so a burst of load from elsewhere on a shared machine lands on both alike.
    /// A side's sample is the sum of its chunks.</summary>
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
}
