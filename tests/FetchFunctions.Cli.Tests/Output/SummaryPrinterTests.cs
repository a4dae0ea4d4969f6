using FetchFunctions.Cli.Output;
using FetchFunctions.Core.Summary;
using Spectre.Console;

namespace FetchFunctions.Cli.Tests.Output;

public sealed class SummaryPrinterTests
{
    private static string Print(params HostStats[] hosts)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        SummaryPrinter.Print(console, new CrawlSummary
        {
            JobId = "job", SummaryBlobName = "job/summary.json", Hosts = hosts,
            ErrorKinds = new Dictionary<string, long> { ["DisallowedByRobots"] = 2 },
        });
        return writer.ToString();
    }

    [Fact]
    public void Print_ThrottledHost_ShowsItsBackoffColumns()
    {
        var output = Print(new HostStats("slow.example", 10, 4, 6, 100, 6, true), new HostStats("fine.example", 3, 3, 0, 30));

        Assert.Contains("429/503", output, StringComparison.Ordinal);
        Assert.Matches(@"slow\.example\s*│\s*10\s*│\s*4\s*│\s*6\s*│\s*6\s*│\s*yes", output);
        Assert.Matches(@"fine\.example\s*│\s*3\s*│\s*3\s*│\s*0\s*│\s*0\s*│\s*no", output);
        Assert.Contains("error: DisallowedByRobots", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Print_NoHostThrottled_LeavesTheColumnsOut()
    {
        var output = Print(new HostStats("fine.example", 3, 3, 0, 30));

        Assert.DoesNotContain("429/503", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Slowed", output, StringComparison.Ordinal);
    }
}
