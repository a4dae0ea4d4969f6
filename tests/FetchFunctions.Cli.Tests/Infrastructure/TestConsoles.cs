using Spectre.Console;

namespace FetchFunctions.Cli.Tests.Infrastructure;

/// <summary>A console writing plain text to a writer, set up as Main sets up a redirected one: no colours, no prompts,
/// and messages not folded, whatever the checkout's path length.</summary>
internal static class TestConsoles
{
    public static IAnsiConsole Create(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = CliApp.UnfoldedWidth;
        return console;
    }
}
