using System.Diagnostics;
using System.Globalization;
using System.Text;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Summary;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FetchFunctions.Benchmarks;

/// <summary>Part 6: a whole job over 50 loopback hosts (127.0.0.1-50, a page server listening on each) through the
/// in-process runner with the operator's default job settings, planned two ways in the same run: by host lanes (what
/// the planner does, per-host limits exact job-wide) and round-robin without lanes (the layout before, where every
/// batch held every host, so a host could get the window times its limit). Same window, same fetches per batch: the
/// same total concurrency. Each run of each side in a fresh Azurite; the sides alternate which goes first.</summary>
internal static class ManyHosts
{
    public const int Hosts = 50;

    public static async Task RunAsync(BenchOptions options, IReadOnlyList<Uri> origins, Report report, CancellationToken cancellationToken)
    {
        var warmup = Math.Clamp(options.HostsUrls / 10, Hosts, 1_000);
        await RunJobAsync(origins, warmup, "warmup", lanes: true, options, cancellationToken);
        await RunJobAsync(origins, warmup, "warmup", lanes: false, options, cancellationToken);

        var laned = new List<double>();
        var roundRobin = new List<double>();
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var lanes in run % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var wall = await RunJobAsync(origins, options.HostsUrls, $"run{run}", lanes, options, cancellationToken);
                (lanes ? laned : roundRobin).Add(options.HostsUrls / wall.TotalSeconds);
            }

            Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                $"part 6 run {run + 1}: {options.HostsUrls} URLs over {Hosts} hosts, host lanes {laned[^1]:0} URLs/s, round-robin {roundRobin[^1]:0} URLs/s"));
        }

        const string part = "6 many hosts";
        var lanesFigure = report.Add(part, $"job over {Hosts} hosts, host lanes (per-host limits job-wide)", "URLs/s", laned);
        var before = report.Add(part, $"job over {Hosts} hosts, round-robin batches (limits per batch only)", "URLs/s", roundRobin);
        var ratio = report.Add(part, "host lanes / round-robin", "ratio", laned.Zip(roundRobin, (l, r) => l / r));
        report.AddTarget($"{Hosts}-host job, host lanes / round-robin", "≥ 0.95", $"{ratio.Median:0.00} ({lanesFigure.Median:0} vs {before.Median:0} URLs/s)",
            ratio.Median >= 0.95);
    }

    private static async Task<TimeSpan> RunJobAsync(IReadOnlyList<Uri> origins, int urls, string label, bool lanes, BenchOptions options,
        CancellationToken cancellationToken)
    {
        var (azurite, container) = await Azurite.StartFreshAsync(cancellationToken);
        await using (azurite)
        {
            await using var core = CoreHost.Create(azurite.ConnectionString, options.Concurrency, options.BigBytes, before: services =>
            {
                if (!lanes)
                {
                    // Registered first, so Core keeps this plan activity.
                    services.AddSingleton<CrawlActivities>();
                    services.AddSingleton<ICrawlActivities>(provider => new RoundRobinPlanActivities(provider.GetRequiredService<CrawlActivities>(),
                        provider.GetRequiredService<JobStore>(), provider.GetRequiredService<IOptions<CrawlOptions>>()));
                }
            });

            var list = new StringBuilder();
            for (var i = 0; i < urls; i++)
            {
                list.Append(new Uri(origins[i % origins.Count], string.Create(CultureInfo.InvariantCulture, $"page/{label}-{i}")).AbsoluteUri).Append('\n');
            }

            await container.UploadBlobAsync("_uploads/hosts-urls.txt", BinaryData.FromString(list.ToString()), cancellationToken);
            var submitted = await core.Provider.GetRequiredService<ICrawlIntake>().SubmitAsync(new CrawlJobRequest { UrlListBlob = "_uploads/hosts-urls.txt" },
                cancellationToken);
            var ticket = submitted.Ticket ?? throw new InvalidOperationException(
                $"The job was rejected: {string.Join("; ", submitted.Problems.Select(p => $"{p.Path}: {p.Reason}"))}");
            var started = Stopwatch.GetTimestamp();
            var summary = await core.Provider.GetRequiredService<ICrawlRunner>().RunAsync(ticket, progress: null, cancellationToken);
            var wall = Stopwatch.GetElapsedTime(started);
            if (summary.Succeeded != urls)
            {
                throw new InvalidOperationException($"The job fetched {summary.Succeeded} of {urls} URLs.");
            }

            return wall;
        }
    }

    /// <summary>The plan activity as it was before host lanes: URLs grouped by host and dealt round-robin into
    /// ⌈n/B⌉ batches, every batch independent. Fetching and the summary are Core's own.</summary>
    private sealed class RoundRobinPlanActivities(CrawlActivities inner, JobStore store, IOptions<CrawlOptions> crawlOptions) : ICrawlActivities
    {
        public Task<CrawlPlan> PlanRoundAsync(RoundTicket round, CancellationToken cancellationToken) => inner.PlanRoundAsync(round, cancellationToken);

        public async Task<CrawlPlan> PlanAsync(JobTicket ticket, CancellationToken cancellationToken)
        {
            var job = await store.ReadJobAsync(ticket.JobBlobName, cancellationToken);
            var urls = new List<string>(job.UrlCount);
            await foreach (var line in store.ReadLinesAsync(job.UrlListBlobName, cancellationToken))
            {
                urls.Add(line);
            }

            var (order, _) = CrawlPlanner.GroupByHost(urls);
            var plan = BatchLayout.Plan(job.JobId, urls.Count, job.DuplicatesRemoved, job.Settings.BatchSize, crawlOptions.Value.BatchesPerShard,
                job.Settings.MaxBatchesInFlight);
            for (var shard = 0; shard < plan.ShardCount; shard++)
            {
                var (first, count) = BatchLayout.ShardBatches(plan, shard);
                var batches = Enumerable.Range(first, count).Select(batch => Dealt(urls, order, batch, plan.BatchCount));
                await store.WriteShardManifestAsync(job.JobId, shard, first, batches, planId: null, cancellationToken);
            }

            return plan;
        }

        public Task<LaneProgress> FetchLaneAsync(LaneWork lane, IProgress<BatchStats>? committed, CancellationToken cancellationToken) =>
            inner.FetchLaneAsync(lane, committed, cancellationToken);

        public Task<long> MergeShardIndexAsync(ShardIndexWork work, CancellationToken cancellationToken) => inner.MergeShardIndexAsync(work, cancellationToken);

        public Task<CrawlSummary> WriteSummaryAsync(SummaryWork work, CancellationToken cancellationToken) => inner.WriteSummaryAsync(work, cancellationToken);

        private static IEnumerable<string> Dealt(List<string> urls, int[] order, int batch, int batchCount)
        {
            for (var position = batch; position < order.Length; position += batchCount)
            {
                yield return urls[order[position]];
            }
        }
    }
}
