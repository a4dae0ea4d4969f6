using System.Globalization;
using System.Text.Json;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Orchestration;
using FetchFunctions.Tests.Infrastructure;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FetchFunctions.Benchmarks;

/// <summary>Part <c>durable</c>: part 4's job through the Functions app's own orchestrators
/// (<see cref="CrawlOrchestrators"/>) and activity class (<see cref="CrawlActivityFunctions"/>) in the Durable
/// in-process test host, registered under their function names as the app's tests do
/// (<c>tests/FetchFunctions.Tests/Infrastructure/AppHost.cs</c>), against the in-process runner on the same job, the
/// runners alternating which goes first. Both run the same Core (<see cref="CoreHost.Configure"/>) in a fresh Azurite
/// each; the Durable wall time runs from scheduling the job's orchestration to its completion. Both runners run in one
/// child process (see <see cref="ProcessorCountVariable"/>).</summary>
internal static class DurableJob
{
    /// <summary>The hidden subcommand of the child process that runs both runners.</summary>
    public const string Command = "__durable";

    /// <summary>The test host's in-memory backend runs at most <see cref="Environment.ProcessorCount"/> activities at once
    /// (2 on a 2-core machine), which would cap the job's window of 8 batches at 2 and measure that cap rather than the
    /// orchestration. The child runs with the processor count the runtime reports set to the window, both runners alike.</summary>
    private const string ProcessorCountVariable = "DOTNET_PROCESSOR_COUNT";

    private sealed record Outcome(WholeJob.JobOutcome[] Durable, WholeJob.JobOutcome[] InProcess, int ProcessorCount);

    public static async Task RunAsync(BenchOptions options, IReadOnlyList<Uri> origins, Report report, CancellationToken cancellationToken)
    {
        var window = new CrawlOptions().MaxBatchesInFlight;
        Measure.Progress($"durable: child process ({ProcessorCountVariable}={window})");
        Outcome result;
        await using (var child = ChildProcess.StartWith(
            new Dictionary<string, string> { [ProcessorCountVariable] = window.ToString(CultureInfo.InvariantCulture) },
            Command, JsonSerializer.Serialize(options), string.Join(' ', origins.Select(o => o.AbsoluteUri))))
        {
            result = JsonSerializer.Deserialize<Outcome>(await child.ReadLineAsync(cancellationToken))
                ?? throw new InvalidOperationException("The durable child answered nothing.");
            if (await child.WaitForExitAsync(cancellationToken) != 0)
            {
                throw new InvalidOperationException("The durable child failed.");
            }
        }

        var (durable, inProcess) = (result.Durable.ToList(), result.InProcess.ToList());
        const string part = "durable";
        var urls = options.JobUrls;
        var durableWall = report.Add(part, $"Durable test host, app's orchestrators and activities: wall time, {urls} URLs", "s", durable.Select(o => o.Wall.TotalSeconds));
        var inProcessWall = report.Add(part, "in-process runner, same job and process: wall time", "s", inProcess.Select(o => o.Wall.TotalSeconds));
        var overhead = report.Add(part, "Durable overhead: Durable / in-process - 1", "%", durable.Zip(inProcess, (d, i) => (d.Wall / i.Wall - 1) * 100));
        report.Add(part, "Durable URLs per second", "URLs/s", durable.Select(o => urls / o.Wall.TotalSeconds));
        report.Add(part, "Durable client CPU per URL (worker and in-memory backend)", "µs", durable.Select(o => o.Cpu.TotalMicroseconds / urls));
        report.Add(part, "in-process runner client CPU per URL", "µs", inProcess.Select(o => o.Cpu.TotalMicroseconds / urls));
        report.Add(part, "Durable: fetches in flight on average", "count", durable.Select(o => o.AverageInFlight));
        report.Add(part, "in-process runner: fetches in flight on average", "count", inProcess.Select(o => o.AverageInFlight));
        report.Add(part, "Durable: share of wall time with no fetch in flight", "%", durable.Select(o => o.IdleShare * 100));
        report.Add(part, "processor count the child's runtime reports", "count", [result.ProcessorCount]);
        report.AddTarget("Durable in-process test host overhead over the in-process runner", "≤ 15 %",
            $"{overhead.Median:0.0} % ({durableWall.Median:0.0} vs {inProcessWall.Median:0.0} s)", overhead.Median <= 15, Report.Issue13);
    }

    /// <summary>The child: warms both runners up, then runs the job through each, alternating which goes first; one JSON line.</summary>
    public static async Task<int> RunChildAsync(string optionsJson, string originList)
    {
        var options = JsonSerializer.Deserialize<BenchOptions>(optionsJson) ?? throw new InvalidOperationException("No options.");
        var origins = originList.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => new Uri(a)).ToList();
        var cancellationToken = CancellationToken.None;
        var warmup = Math.Clamp(options.JobUrls / 10, ManyHosts.Hosts, 1_000);
        Measure.Progress($"durable: warming up with {warmup}-URL jobs through each runner, throwaway Azurites (processor count {Environment.ProcessorCount})");
        await Measure.WarmUpAsync(WholeJob.WarmupTime(options), async () =>
        {
            await WholeJob.RunJobAsync(origins, warmup, "warmup", options, WholeJob.Runner.Durable, cancellationToken);
            await WholeJob.RunJobAsync(origins, warmup, "warmup", options, WholeJob.Runner.InProcess, cancellationToken);
        });

        var durable = new List<WholeJob.JobOutcome>();
        var inProcess = new List<WholeJob.JobOutcome>();
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var runner in Measure.BaselineFirst(run) ? new[] { WholeJob.Runner.InProcess, WholeJob.Runner.Durable } : [WholeJob.Runner.Durable, WholeJob.Runner.InProcess])
            {
                var outcome = await WholeJob.RunJobAsync(origins, options.JobUrls, $"run{run}", options, runner, cancellationToken);
                (runner == WholeJob.Runner.Durable ? durable : inProcess).Add(outcome);
            }

            Measure.Progress(string.Create(CultureInfo.InvariantCulture,
                $"durable run {run + 1}: {options.JobUrls} URLs, Durable {durable[^1].Wall.TotalSeconds:0.0} s ({durable[^1].AverageInFlight:0.0} in flight), in-process runner {inProcess[^1].Wall.TotalSeconds:0.0} s ({inProcess[^1].AverageInFlight:0.0} in flight)"));
        }

        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Outcome([.. durable], [.. inProcess], Environment.ProcessorCount)));
        return 0;
    }

    /// <summary>One job in a Durable test host of its own over <paramref name="storage"/>; the URL list is uploaded.</summary>
    public static async Task<(Sample Sample, TimeSpan Intake, CrawlSummary Summary)> RunOneAsync(string storage, WholeJob.JobTimings timings,
        BenchOptions options, CancellationToken cancellationToken)
    {
        // The test host's gRPC sidecar is a default-built host that logs every call to the console (standard output, where
        // the table goes): CPU and wall time no deployed app spends. Its configuration reads the environment.
        Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "None");
        // Its own pick of port (random, inside the OS's ephemeral range) can be taken before it binds: TestPorts chooses.
        await using var host = await TestPorts.StartAsync(1, ports => DurableTaskTestHost.StartAsync(
            AppFunctionRegistry.Register,
            new DurableTaskTestHostOptions
            {
                Port = ports[0],
                LoggerFactory = NullLoggerFactory.Instance,
                ConfigureServices = services =>
                {
                    CoreHost.Configure(services, storage, options.Concurrency, options.BigBytes, before: timings.Register);
                    services.AddLogging(logging => logging.ClearProviders());
                },
            },
            cancellationToken));

        var (ticket, intake) = await WholeJob.SubmitAsync(host.Services, cancellationToken);
        OrchestrationMetadata? completed = null;
        var sample = await Measure.RunAsync(async () =>
        {
            // What the app's intake function does once the job is accepted: one orchestration per job, its id the job id.
            await host.Client.ScheduleNewOrchestrationInstanceAsync(CrawlFunctionNames.JobOrchestrator, ticket,
                new StartOrchestrationOptions { InstanceId = ticket.JobId }, cancellationToken);
            completed = await host.Client.WaitForInstanceCompletionAsync(ticket.JobId, getInputsAndOutputs: true, cancellationToken);
        });
        if (completed!.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new InvalidOperationException($"The Durable job ended {completed.RuntimeStatus}: {completed.FailureDetails?.ErrorMessage}");
        }

        return (sample, intake, completed.ReadOutputAs<CrawlSummary>() ?? throw new InvalidOperationException("The Durable job has no summary."));
    }
}
