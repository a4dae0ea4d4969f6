using System.Diagnostics;
using System.Globalization;
using System.Text;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Benchmarks;

/// <summary>Part <c>slow</c> (issue 19): one site, as <c>fetchfn crawl --per-host 16</c> crawls it: 1,000 pages of
/// 20 ms, all fast; then the same with 10 of them (1 %) answering after 5 s (below the attempt timeout). Host queues
/// that keep their slots busy finish the slow job within the fast job's time plus twice a slow page's. The site samples
/// its requests in flight every few milliseconds, so the part also prints the average fetches in flight on the host
/// against its limit. One reference run keeps one batch open per lane call (Crawl:LaneBatchesOpen = 1): a host's next
/// batch waits for its slowest URL, as every batch did before lanes were fetched continuously.</summary>
internal static class SlowPages
{
    private const int Pages = 1_000;
    private const int PageMs = 20;
    private const int SlowEvery = 100;
    private const int SlowMs = 5_000;
    private const int PerHost = 16;

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        await using var site = await Site.StartAsync();
        await RunJobAsync(site, "warmup", slow: false, lanesOpen: null, cancellationToken);
        var fast = new List<Outcome>();
        var slow = new List<Outcome>();
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var slowJob in run % 2 == 0 ? new[] { false, true } : [true, false])
            {
                (slowJob ? slow : fast).Add(await RunJobAsync(site, $"run{run}", slowJob, lanesOpen: null, cancellationToken));
            }

            Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                $"part slow run {run + 1}: all fast {fast[^1].Wall:0.0} s ({fast[^1].InFlight:0.0} in flight), 1 % slow {slow[^1].Wall:0.0} s ({slow[^1].InFlight:0.0} in flight)"));
        }

        var oneOpen = await RunJobAsync(site, "one-open", slow: true, lanesOpen: 1, cancellationToken);
        Measure.Progress(string.Create(CultureInfo.InvariantCulture, $"part slow reference: one batch open per call {oneOpen.Wall:0.0} s"));

        const string part = "slow one site";
        var fastWall = report.Add(part, $"{Pages} pages of {PageMs} ms on one host, per-host {PerHost}: wall", "s", fast.Select(o => o.Wall));
        var slowWall = report.Add(part, $"the same with {Pages / SlowEvery} pages of {SlowMs / 1000} s: wall", "s", slow.Select(o => o.Wall));
        var fastInFlight = report.Add(part, $"  all fast: average fetches in flight on the host (limit {PerHost})", "requests", fast.Select(o => o.InFlight));
        var slowInFlight = report.Add(part, $"  1 % slow: average fetches in flight on the host (limit {PerHost})", "requests", slow.Select(o => o.InFlight));
        report.Add(part, "  peak fetches in flight on the host", "requests", fast.Concat(slow).Select(o => (double)o.Peak));
        report.Add(part, "1 % slow, one batch open per lane call (the old behaviour), one run", "s", [oneOpen.Wall]);
        var bound = fastWall.Median + 2 * SlowMs / 1000.0;
        report.AddTarget("one site with 1 % slow pages: wall", "≤ all fast + 2 × 5 s",
            string.Create(CultureInfo.InvariantCulture, $"{slowWall.Median:0.0} s (all fast {fastWall.Median:0.0} s, bound {bound:0.0} s; one batch open {oneOpen.Wall:0.0} s)"),
            slowWall.Median <= bound, Report.Issue19);
        var peak = fast.Concat(slow).Max(o => o.Peak);
        report.AddTarget("fetches in flight on the host", $"average reported, peak ≤ {PerHost}",
            string.Create(CultureInfo.InvariantCulture, $"average {fastInFlight.Median:0.0} (all fast), {slowInFlight.Median:0.0} (1 % slow) of {PerHost}; peak {peak}"),
            peak <= PerHost, Report.Issue19);
    }

    private sealed record Outcome(double Wall, double InFlight, int Peak);

    private static async Task<Outcome> RunJobAsync(Site site, string label, bool slow, int? lanesOpen, CancellationToken cancellationToken)
    {
        var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
        await using (azurite)
        {
            var settings = new Dictionary<string, string?> { ["Crawl:MaxConcurrencyPerHost"] = PerHost.ToString(CultureInfo.InvariantCulture) };
            if (lanesOpen is { } open)
            {
                settings["Crawl:LaneBatchesOpen"] = open.ToString(CultureInfo.InvariantCulture);
            }

            await using var core = CoreHost.Create(azurite.ConnectionString, PerHost, 1 << 20, settings);
            var list = new StringBuilder();
            for (var i = 0; i < Pages; i++)
            {
                var ms = slow && i % SlowEvery == SlowEvery / 2 ? SlowMs : PageMs;
                list.Append(new Uri(site.Origin, string.Create(CultureInfo.InvariantCulture, $"s/{label}-{slow}/{i}/{ms}")).AbsoluteUri).Append('\n');
            }

            await container.UploadBlobAsync("_uploads/slow-urls.txt", BinaryData.FromString(list.ToString()), cancellationToken);
            var submitted = await core.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
            {
                UrlListBlob = "_uploads/slow-urls.txt",
                Options = new CrawlJobOptions { MaxConcurrencyPerHost = PerHost },
            }, cancellationToken);
            var ticket = submitted.Ticket ?? throw new InvalidOperationException(
                $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");
            var started = Stopwatch.GetTimestamp();
            using var sampling = site.Sample();
            var summary = await core.Provider.GetRequiredService<ICrawlRunner>().RunAsync(ticket, progress: null, cancellationToken);
            var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var (average, peak) = await sampling.StopAsync();
            if (summary.Succeeded != Pages)
            {
                throw new InvalidOperationException($"The job fetched {summary.Succeeded} of {Pages} pages.");
            }

            return new Outcome(wall, average, peak);
        }
    }

    /// <summary>The site: <c>/s/{label}/{i}/{ms}</c> answers a small page after <c>ms</c>; it counts its requests in flight
    /// (arrived, not yet answered) and samples the count while a job runs.</summary>
    private sealed class Site : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _inFlight;

        private Site(WebApplication app) => _app = app;

        public Uri Origin { get; private set; } = null!;

        public static async Task<Site> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var site = new Site(app);
            app.Run(site.HandleAsync);
            await app.StartAsync();
            site.Origin = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
            return site;
        }

        public Sampling Sample() => new(this);

        private async Task HandleAsync(HttpContext context)
        {
            var path = context.Request.Path.Value ?? string.Empty;
            var slash = path.LastIndexOf('/');
            if (!path.StartsWith("/s/", StringComparison.Ordinal) || !int.TryParse(path.AsSpan(slash + 1), CultureInfo.InvariantCulture, out var ms))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            Interlocked.Increment(ref _inFlight);
            try
            {
                await Task.Delay(ms, context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }

            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html><body>page</body></html>", context.RequestAborted);
        }

        /// <summary>Samples the site's requests in flight every 5 ms until stopped: their average and peak.</summary>
        internal sealed class Sampling : IDisposable
        {
            private readonly CancellationTokenSource _stop = new();
            private readonly Task<(double Average, int Peak)> _samples;

            public Sampling(Site site) => _samples = Task.Run(async () =>
            {
                long sum = 0;
                long count = 0;
                var peak = 0;
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
                try
                {
                    while (await timer.WaitForNextTickAsync(_stop.Token))
                    {
                        var now = Volatile.Read(ref site._inFlight);
                        sum += now;
                        count++;
                        peak = Math.Max(peak, now);
                    }
                }
                catch (OperationCanceledException)
                {
                }

                return (count == 0 ? 0 : (double)sum / count, peak);
            });

            public async Task<(double Average, int Peak)> StopAsync()
            {
                await _stop.CancelAsync();
                return await _samples;
            }

            public void Dispose() => _stop.Dispose();
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
