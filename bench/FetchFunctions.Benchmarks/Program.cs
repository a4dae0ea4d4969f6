using System.Globalization;
using FetchFunctions.Benchmarks;

// Hidden subcommands: the benchmark re-invokes itself for the page servers, the measured clients of parts 1 and 2,
// each big-body copy and the planner.
if (args is [PageServer.Command, var pageBytes])
{
    return await PageServer.RunAsync(int.Parse(pageBytes, CultureInfo.InvariantCulture));
}

if (args is [PageServer.Command, var hostPageBytes, var hosts])
{
    return await PageServer.RunAsync(int.Parse(hostPageBytes, CultureInfo.InvariantCulture), int.Parse(hosts, CultureInfo.InvariantCulture));
}

if (args is [BigBody.Command, var side, var url, var storage])
{
    return await BigBody.RunChildAsync(side, new Uri(url), storage);
}

if (args is [SmallPages.Command, var smallPart, var smallServer, var smallOptions])
{
    return await SmallPages.RunChildAsync(smallPart, new Uri(smallServer), smallOptions);
}

if (args is [DurableJob.Command, var durableOptions, var durableOrigins])
{
    return await DurableJob.RunChildAsync(durableOptions, durableOrigins);
}

if (args is [Planning.Command, var planStorage, var jobId, var jobBlob, var azuritePid])
{
    return await Planning.RunChildAsync(planStorage, jobId, jobBlob, int.Parse(azuritePid, CultureInfo.InvariantCulture));
}

if (args is [FrontierRound.Command, var frontierStorage, var frontierJob, var seedBatches, var firstShard, var seedPlan])
{
    return await FrontierRound.RunChildAsync(frontierStorage, frontierJob, int.Parse(seedBatches, CultureInfo.InvariantCulture),
        int.Parse(firstShard, CultureInfo.InvariantCulture), seedPlan);
}

if (args is [BigJob.Command, var bigStorage])
{
    return await BigJob.RunChildAsync(bigStorage);
}

if (args is [Planning.IntakeCommand, var intakeStorage, var listBlob])
{
    return await Planning.RunIntakeChildAsync(intakeStorage, listBlob);
}

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

var (options, error) = BenchOptions.Parse(args);
if (options is null)
{
    await Console.Error.WriteLineAsync($"{error}\n\n{BenchOptions.Usage}");
    return 2;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

var report = new Report { Options = options };
if (options.Runs < 3)
{
    report.Notes.Add($"{options.Runs} run(s) only: the issue asks for medians of at least 3.");
}

await using (var server = ChildProcess.Start(PageServer.Command, options.PageBytes.ToString(CultureInfo.InvariantCulture)))
{
    var origin = new Uri(await server.ReadLineAsync(cancellation.Token));
    Measure.Progress($"page server at {origin}; {Report.Machine}");
    if (options.Includes("fetch"))
    {
        await SmallPages.FetchOnlyAsync(options, origin, report, cancellation.Token);
    }

    if (options.Includes("store"))
    {
        await SmallPages.FetchAndStoreAsync(options, origin, report, cancellation.Token);
    }

    if (options.Includes("big"))
    {
        await BigBody.RunAsync(options, origin, report, cancellation.Token);
    }

    if (options.Includes("telemetry"))
    {
        await TelemetryCost.RunAsync(options, origin, report, cancellation.Token);
    }
}

// Parts 4, durable, 6 and bigjob crawl the 50 loopback hosts of one page server, so host lanes do not serialise the job.
if (options.Includes("job") || options.Includes("durable") || options.Includes("hosts") || options.Includes("bigjob"))
{
    await using var hostsServer = ChildProcess.Start(PageServer.Command, options.PageBytes.ToString(CultureInfo.InvariantCulture),
        ManyHosts.Hosts.ToString(CultureInfo.InvariantCulture));
    var origins = (await hostsServer.ReadLineAsync(cancellation.Token)).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => new Uri(a)).ToList();
    Measure.Progress($"page server on {origins.Count} hosts ({origins[0]} … {origins[^1]})");
    if (options.Includes("job"))
    {
        await WholeJob.RunAsync(options, origins, report, cancellation.Token);
        await WholeJob.OneHostAsync(options, origins[0], report, cancellation.Token);
    }

    if (options.Includes("durable"))
    {
        await DurableJob.RunAsync(options, origins, report, cancellation.Token);
    }

    if (options.Includes("hosts"))
    {
        await ManyHosts.RunAsync(options, origins, report, cancellation.Token);
    }

    if (options.Includes("bigjob"))
    {
        await BigJob.RunAsync(options, origins, report, cancellation.Token);
    }
}

if (options.Includes("plan"))
{
    await Planning.RunAsync(options, report, cancellation.Token);
}

if (options.Includes("frontier"))
{
    await FrontierRound.RunAsync(options, report, cancellation.Token);
}

if (options.Includes("merge"))
{
    await IndexMerge.RunAsync(options, report, cancellation.Token);
}

if (options.Includes("slow"))
{
    await SlowPages.RunAsync(options, report, cancellation.Token);
}

if (options.Includes("profile"))
{
    await Profile.RunAsync(options, report, cancellation.Token);
}

Console.WriteLine(report.ToTable());
await report.WriteJsonAsync(options.Output, cancellation.Token);
Measure.Progress($"written {Path.GetFullPath(options.Output)}");
return 0;
