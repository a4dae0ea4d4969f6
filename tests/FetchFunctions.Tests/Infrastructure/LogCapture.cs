using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Tests.Infrastructure;

/// <summary>One line the worker logged, as a provider receives it (after the worker's filters).</summary>
internal sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, string? Exception);

/// <summary>A logger provider that keeps every line it is given: what the worker would forward to the host.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _lines = new();

    public IReadOnlyList<CapturedLog> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new CaptureLogger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class CaptureLogger(string category, ConcurrentQueue<CapturedLog> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception?.ToString()));
    }
}
