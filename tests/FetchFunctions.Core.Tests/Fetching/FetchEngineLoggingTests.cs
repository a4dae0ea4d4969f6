using System.Collections.Concurrent;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Tests.Fetching;

public sealed class FetchEngineLoggingTests
{
    [Fact]
    public async Task FetchAsync_RetriedServerError_LogsNoResilienceWarning()
    {
        var server = await LoopbackServer.Shared;
        await using var host = await EngineHost.StartAsync();
        var captured = new CapturingLoggerProvider();
        host.Provider.GetRequiredService<ILoggerFactory>().AddProvider(captured);
        var key = Guid.NewGuid().ToString("N");

        var result = await host.FetchAsync(server.Url($"/flaky/{key}/2/503"));

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(3, server.Attempts(key));
        Assert.Contains(captured.Entries, e => e.Category.StartsWith("Polly", StringComparison.Ordinal));
        Assert.DoesNotContain(captured.Entries, e => e.Category.StartsWith("Polly", StringComparison.Ordinal) && e.Level >= LogLevel.Warning);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentBag<(string Category, LogLevel Level)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentBag<(string, LogLevel)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Add((category, logLevel));
        }
    }
}
