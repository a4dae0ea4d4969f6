using FetchFunctions.Cli.Output;
using FetchFunctions.Core.Summary;
using Spectre.Console;

namespace FetchFunctions.Cli.Tests.Output;

public sealed class SummaryPrinterTests
{
    private static (IAnsiConsole Console, StringWriter Text) CreateSut()
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(text),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = CliApp.UnfoldedWidth;
        return (console, text);
    }

    [Fact]
    public void Outcomes_StatusesAndErrorKinds_StatusesFirstThenMostFrequentErrors()
    {
        var summary = new CrawlSummary
        {
            JobId = "j", SummaryBlobName = "j/summary.json", Total = 7,
            Outcomes = new Dictionary<string, long> { ["404"] = 1, ["200"] = 2, ["Timeout"] = 1, ["TooLarge"] = 3 },
        };

        Assert.Equal([("HTTP 200", 2L), ("HTTP 404", 1L), ("error: TooLarge", 3L), ("error: Timeout", 1L)], SummaryPrinter.Outcomes(summary));
    }

    [Fact]
    public void Print_SummaryStoredBeforeOutcomes_SaysItsTablesOverlap()
    {
        var (console, text) = CreateSut();
        var summary = new CrawlSummary
        {
            JobId = "old", SummaryBlobName = "old/summary.json", Total = 2,
            StatusCodes = new Dictionary<int, long> { [200] = 2 }, ErrorKinds = new Dictionary<string, long> { ["TooLarge"] = 1 },
        };

        SummaryPrinter.Print(console, summary);

        Assert.Contains("overlapping", text.ToString(), StringComparison.Ordinal);
        Assert.Contains("error: TooLarge", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Print_ThrottledHost_ShowsItsBackoffColumns()
    {
        var output = PrintHosts(new HostStats("slow.example", 10, 4, 6, 100, 6, true), new HostStats("fine.example", 3, 3, 0, 30));

        Assert.Contains("429/503", output, StringComparison.Ordinal);
        Assert.Matches(@"slow\.example\s*│\s*10\s*│\s*4\s*│\s*6\s*│\s*6\s*│\s*yes", output);
        Assert.Matches(@"fine\.example\s*│\s*3\s*│\s*3\s*│\s*0\s*│\s*0\s*│\s*no", output);
        Assert.Contains("error: DisallowedByRobots", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Print_NoHostThrottled_LeavesTheColumnsOut()
    {
        var output = PrintHosts(new HostStats("fine.example", 3, 3, 0, 30));

        Assert.DoesNotContain("429/503", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Slowed", output, StringComparison.Ordinal);
    }

    private static string PrintHosts(params HostStats[] hosts)
    {
        var (console, text) = CreateSut();
        SummaryPrinter.Print(console, new CrawlSummary
        {
            JobId = "job", SummaryBlobName = "job/summary.json", Total = 2, Hosts = hosts,
            Outcomes = new Dictionary<string, long> { ["DisallowedByRobots"] = 2 },
            ErrorKinds = new Dictionary<string, long> { ["DisallowedByRobots"] = 2 },
        });
        return text.ToString();
    }
}
