using System.Globalization;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Benchmarks;

/// <summary>One phase of a plan activity as the planner logs it (<c>CrawlPlanner</c>'s phase clock): its wall time, the
/// planner process's CPU and Azurite's CPU during it. Wall minus the two CPU figures (on 2 cores) is waiting: for the
/// machine's other load, or for one side while the other is blocked.</summary>
internal sealed record PlanPhase(string Name, double WallSeconds, double PlannerCpuSeconds, double AzuriteCpuSeconds, double PeakRssMb);

/// <summary>Records the planner's phase log entries in the planning child, with the CPU time of this process and of
/// Azurite (read from /proc) at the end of each.</summary>
internal sealed class PlanPhaseRecorder(int azuritePid) : ILoggerProvider, ILogger
{
    private readonly List<PlanPhase> _phases = [];
    private TimeSpan _ownCpu = Environment.CpuUsage.TotalTime;
    private double _azuriteCpu = ProcessCpu.Seconds(azuritePid);

    public IReadOnlyList<PlanPhase> Phases
    {
        get
        {
            lock (_phases)
            {
                return [.. _phases];
            }
        }
    }

    /// <summary>Starts the first phase's clock now (the recorder is built before the host starts).</summary>
    public void Restart()
    {
        lock (_phases)
        {
            _phases.Clear();
            _ownCpu = Environment.CpuUsage.TotalTime;
            _azuriteCpu = ProcessCpu.Seconds(azuritePid);
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (state is not IReadOnlyList<KeyValuePair<string, object?>> values
            || values.FirstOrDefault(v => v.Key == "Phase").Value is not string phase
            || values.FirstOrDefault(v => v.Key == "Milliseconds").Value is not double milliseconds)
        {
            return;
        }

        lock (_phases)
        {
            var ownCpu = Environment.CpuUsage.TotalTime;
            var azuriteCpu = ProcessCpu.Seconds(azuritePid);
            _phases.Add(new PlanPhase(phase, milliseconds / 1000, (ownCpu - _ownCpu).TotalSeconds, azuriteCpu - _azuriteCpu,
                (Measure.PeakRssBytes() ?? 0) / 1e6));
            (_ownCpu, _azuriteCpu) = (ownCpu, azuriteCpu);
        }
    }

    public void Dispose()
    {
    }
}

internal static class ProcessCpu
{
    /// <summary>User plus system CPU seconds of process <paramref name="pid"/> (Linux /proc; 0 elsewhere or when it is gone).</summary>
    public static double Seconds(int pid)
    {
        var path = $"/proc/{pid}/stat";
        if (pid <= 0 || !File.Exists(path))
        {
            return 0;
        }

        try
        {
            var stat = File.ReadAllText(path);
            // Fields after the command name (which may hold spaces), in parentheses: utime and stime are fields 14 and 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / (double)ClockTicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The machine's load averages (1, 5, 15 min) as /proc/loadavg says them.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    // USER_HZ: 100 on every Linux the benchmark runs on (getconf CLK_TCK).
    private const int ClockTicksPerSecond = 100;
}
