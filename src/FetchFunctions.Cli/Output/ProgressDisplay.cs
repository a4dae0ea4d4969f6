using System.Diagnostics;
using System.Globalization;
using FetchFunctions.Core.Orchestration;
using Spectre.Console;

namespace FetchFunctions.Cli.Output;

/// <summary>A live progress bar (batches, URLs, bytes and rate) while a job runs in this process.</summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(IAnsiConsole console, string title, Func<IProgress<CrawlProgress>, Task<T>> work)
    {
        var result = default(T)!;
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: 1);
                var clock = Stopwatch.StartNew();
                var progress = new SynchronousProgress<CrawlProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.UrlsTotal);
                    task.Value = p.UrlsDone;
                    var rate = p.UrlsDone / Math.Max(clock.Elapsed.TotalSeconds, 0.001);
                    // With link discovery the total grows round by round: say how much of it was discovered.
                    var discovered = p.Discovered > 0 || p.Depth > 0
                        ? string.Create(CultureInfo.InvariantCulture, $" (depth {p.Depth}, {p.Discovered:N0} discovered)")
                        : string.Empty;
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{title}: {p.UrlsDone:N0}/{p.UrlsTotal:N0} URLs{discovered}, batches {p.BatchesDone}/{p.BatchesTotal}, {p.Bytes / 1048576.0:0.0} MiB, {rate:0} URLs/s"));
                });
                result = await work(progress);
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and could report after the end).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly Lock _gate = new();

        public void Report(T value)
        {
            lock (_gate)
            {
                report(value);
            }
        }
    }
}
