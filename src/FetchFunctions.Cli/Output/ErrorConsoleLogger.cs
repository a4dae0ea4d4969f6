using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace FetchFunctions.Cli.Output;

/// <summary>Log lines of Core and its libraries (Polly's resilience events, ...) on the error console, one line each:
/// stdout carries only the job's output, which scripts read.</summary>
internal sealed class ErrorConsoleLoggerProvider(IAnsiConsole error) : ILoggerProvider
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var line = $"{Label(level)}: {category}: {message}";
        if (exception is not null)
        {
            line += $" ({exception.GetType().Name}: {exception.Message})";
        }

        lock (_gate)
        {
            error.WriteLine(line.ReplaceLineEndings(" "));
        }
    }

    private static string Label(LogLevel level) => level switch
    {
        LogLevel.Critical => "crit",
        LogLevel.Error => "fail",
        LogLevel.Warning => "warn",
        LogLevel.Information => "info",
        _ => "dbug",
    };

    private sealed class Logger(ErrorConsoleLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            provider.Write(logLevel, category, formatter(state, exception), exception);
        }
    }
}
