using System.Globalization;
using FetchFunctions.Benchmarks;

// Hidden subcommands: the benchmark re-invokes itself for the page server and for each big-body copy.
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

if (args is [Planning.Command, var planStorage, var jobId, var jobBlob])
{
    return await Planning.RunChildAsync(planStorage, jobId, jobBlob);
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

    if (options.Includes("job"))
    {
        await WholeJob.RunAsync(options, origin, report, cancellation.Token);
    }

    if (options.Includes("telemetry"))
    {
        await TelemetryCost.RunAsync(options, origin, report, cancellation.Token);
    }
}

if (options.Includes("hosts"))
{
    await ManyHosts.RunAsync(options, report, cancellation.Token);
}

if (options.Includes("plan"))
{
    await Planning.RunAsync(options, report, cancellation.Token);
}

if (options.Includes("profile"))
{
    await Profile.RunAsync(options, report, cancellation.Token);
}

Console.WriteLine(report.ToTable());
await report.WriteJsonAsync(options.Output, cancellation.Token);
Measure.Progress($"written {Path.GetFullPath(options.Output)}");
return 0;
