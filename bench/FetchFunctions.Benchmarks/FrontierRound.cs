using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FetchFunctions.Core.Discovery;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Part <c>frontier</c> (issue 19, point 3): planning one round of link discovery that finds
/// <see cref="BenchOptions.FrontierUrls"/> new URLs. The benchmark submits and plans a discovering job of seed pages on
/// 100 hosts under .test (never resolved, nothing is fetched), then writes the seeds' link logs as their batches would:
/// 100 new in-scope links per page, 10 links to other seeds (duplicates), 5 off-scope links and 5 nofollow links. A child
/// process then runs the PlanRound activity for depth 1 (the frontier: read the logs, drop, de-duplicate against the
/// seen set, write the round; then the round laid out into batch manifests), so its peak RSS is the round's alone.</summary>
internal static class FrontierRound
{
    public const string Command = "__frontier";

    private const int NewLinksPerPage = 100;
    private const int Hosts = 100;
    private const double MemoryTargetMb = 1000;

    private sealed record Outcome(double Seconds, double CpuSeconds, long PeakRssBytes, int Planned, int Batches, int Shards, long LinksFound, long Duplicates,
        long OutOfScope, long Nofollow);

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var pages = Math.Max(1, options.FrontierUrls / NewLinksPerPage);
        var outcomes = new List<Outcome>();
        for (var run = 0; run < options.Runs; run++)
        {
            var (azurite, _) = await Azurite.StartFreshAsync(cancellationToken);
            await using (azurite)
            {
                var (jobId, plan) = await SetUpAsync(azurite.ConnectionString, pages, cancellationToken);
                await using var child = ChildProcess.Start(Command, azurite.ConnectionString, jobId,
                    plan.BatchCount.ToString(CultureInfo.InvariantCulture), plan.EndShard.ToString(CultureInfo.InvariantCulture), plan.PlanId!);
                var outcome = JsonSerializer.Deserialize<Outcome>(await child.ReadLineAsync(cancellationToken))
                    ?? throw new InvalidOperationException("The frontier child answered nothing.");
                if (await child.WaitForExitAsync(cancellationToken) != 0 || outcome.Planned != pages * NewLinksPerPage)
                {
                    throw new InvalidOperationException($"Round planning failed or planned the wrong count: {outcome}");
                }

                outcomes.Add(outcome);
                Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                    $"frontier run {run + 1}: {outcome.Planned:N0} URLs planned from {outcome.LinksFound:N0} links in {outcome.Seconds:0.0} s (CPU {outcome.CpuSeconds:0.0} s), peak {outcome.PeakRssBytes / 1e6:0} MB, {outcome.Batches} batches"));
            }
        }

        var part = string.Create(CultureInfo.InvariantCulture, $"frontier round of {pages * NewLinksPerPage:N0} URLs");
        var time = report.Add(part, "PlanRound activity (frontier, then layout)", "s", outcomes.Select(o => o.Seconds));
        report.Add(part, "  its process CPU", "s", outcomes.Select(o => o.CpuSeconds));
        var memory = report.Add(part, "its process peak RSS", "MB", outcomes.Select(o => o.PeakRssBytes / 1e6));
        report.Add(part, "links read", "count", outcomes.Select(o => (double)o.LinksFound));
        report.Add(part, "  duplicates / out of scope / nofollow", "count", outcomes.Select(o => (double)(o.Duplicates + o.OutOfScope + o.Nofollow)));
        report.Add(part, "batches of the round", "count", outcomes.Select(o => (double)o.Batches));
        report.AddTarget(string.Create(CultureInfo.InvariantCulture, $"planning a discovery round of {pages * NewLinksPerPage:N0} URLs, peak RSS"),
            $"≤ {MemoryTargetMb:0} MB", $"{memory.Median:0} MB (max {memory.Max:0}), {time.Median:0.0} s", memory.Max <= MemoryTargetMb, Report.Issue19);
    }

    /// <summary>Submits and plans the seeds, then writes each seed batch's link log; returns the job and its plan.</summary>
    private static async Task<(string JobId, CrawlPlan Plan)> SetUpAsync(string storage, int pages, CancellationToken cancellationToken)
    {
        await using var core = CoreHost.Create(storage, concurrency: 16, maxBodyBytes: 1024);
        var seeds = Enumerable.Range(0, pages).Select(Seed).ToList();
        var submitted = await core.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest
        {
            JobId = "frontier-bench",
            Urls = seeds,
            Crawl = new CrawlDiscoveryOptions { MaxDepth = 2, MaxPages = pages * (NewLinksPerPage + 1) },
        }, cancellationToken);
        var ticket = submitted.Ticket ?? throw new InvalidOperationException(
            $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");
        var plan = await core.Provider.GetRequiredService<ICrawlActivities>().PlanAsync(ticket, cancellationToken);
        var store = core.Provider.GetRequiredService<JobStore>();
        await Parallel.ForEachAsync(Enumerable.Range(plan.FirstBatch, plan.BatchCount),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (batch, token) =>
            {
                var manifest = await store.ReadBatchManifestAsync(ticket.JobId, batch, plan.BatchesPerShard, plan.PlanId, token);
                using var log = store.CreateTextWriter(FrontierBlobNames.Links(ticket.JobId, batch));
                foreach (var url in manifest.Urls)
                {
                    var page = int.Parse(url[(url.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture);
                    await log.WriteLineAsync($"@0\t0\t0\t{url}\t-", token);
                    for (var k = 0; k < NewLinksPerPage; k++)
                    {
                        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"+http://h{page % Hosts}.bench.test/p/{page}/{k}"), token);
                    }

                    for (var k = 1; k <= 10; k++)
                    {
                        await log.WriteLineAsync("+" + Seed((page + k * Hosts) % pages), token);
                    }

                    for (var k = 0; k < 5; k++)
                    {
                        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"+http://elsewhere{k}.bench.test/from/{page}"), token);
                        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"-http://h{page % Hosts}.bench.test/private/{page}/{k}"), token);
                    }
                }

                await log.CommitAsync(JobStore.TextContentType, token);
            });
        return (ticket.JobId, plan);

        static string Seed(int page) => string.Create(CultureInfo.InvariantCulture, $"http://h{page % Hosts}.bench.test/seed/{page}");
    }

    /// <summary>The child: one PlanRound activity for depth 1; one JSON line.</summary>
    public static async Task<int> RunChildAsync(string storage, string jobId, int seedBatches, int firstShard, string seedPlanId)
    {
        await using var core = CoreHost.Create(storage, concurrency: 16, maxBodyBytes: 1024);
        var activities = core.Provider.GetRequiredService<ICrawlActivities>();
        var started = Stopwatch.GetTimestamp();
        var cpu = Environment.CpuUsage.TotalTime;
        var round = await activities.PlanRoundAsync(new RoundTicket(jobId, 1, 0, seedBatches, firstShard, seedPlanId), CancellationToken.None);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        cpu = Environment.CpuUsage.TotalTime - cpu;
        var peak = Measure.PeakRssBytes() ?? 0;
        var stats = await core.Provider.GetRequiredService<Frontier>().ReadStatsAsync(jobId, 1, CancellationToken.None)
            ?? throw new InvalidOperationException("Round 1 has no stats.");
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Outcome(seconds, cpu.TotalSeconds, peak, round.UrlCount, round.BatchCount,
            round.ShardCount, stats.LinksFound, stats.Duplicates, stats.OutOfScope, stats.Nofollow)));
        return 0;
    }
}
