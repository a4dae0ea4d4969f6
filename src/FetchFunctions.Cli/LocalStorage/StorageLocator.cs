using System.Net;
using System.Net.Sockets;
using Spectre.Console;

namespace FetchFunctions.Cli.LocalStorage;

/// <summary>Finds the storage to use: the --connection-string option, then AZURE_STORAGE_CONNECTION_STRING, then
/// AzureWebJobsStorage; otherwise local development storage, starting a pinned Azurite for the run when nothing answers.
/// With <c>FETCHFN_AZURITE_PORTS=free</c> the CLI neither looks at nor uses the default emulator ports: it always starts
/// its own Azurite on free ports (tests do this, so that another Azurite on port 10000 is never theirs).</summary>
internal sealed class StorageLocator(Func<string, string?> environment, IAnsiConsole error)
{
    public const int DefaultBlobPort = 10000;

    /// <summary>The environment variable that chooses the ports of the Azurite the CLI starts; "free" is the one value.</summary>
    public const string AzuritePortsVariable = "FETCHFN_AZURITE_PORTS";

    public async Task<LocatedStorage> LocateAsync(string? connectionString, string dataFolder, CancellationToken cancellationToken)
    {
        var configured = connectionString
            ?? environment("AZURE_STORAGE_CONNECTION_STRING")
            ?? environment("AzureWebJobsStorage");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new LocatedStorage(configured, null);
        }

        var freePortsOnly = environment(AzuritePortsVariable) switch
        {
            null or "" => false,
            var value when string.Equals(value, "free", StringComparison.OrdinalIgnoreCase) => true,
            var value => throw new CliInputException($"{AzuritePortsVariable} may only be 'free', not '{value}'."),
        };
        if (!freePortsOnly && await AnswersAsync(DefaultBlobPort, cancellationToken))
        {
            return new LocatedStorage("UseDevelopmentStorage=true", null);
        }

        // The default emulator ports keep the data reachable by a later run; free ports are the fallback.
        var ports = new[] { DefaultBlobPort, DefaultBlobPort + 1, DefaultBlobPort + 2 };
        var useDefaults = !freePortsOnly && ports.All(IsFree);
        error.MarkupLine($"[grey]No storage configured: starting Azurite {AzuriteProcess.Version} (data in {Markup.Escape(dataFolder)}) for this run.[/]");
        var azurite = await DefaultsElseFreeAsync(useDefaults ? ports : null,
            (blob, queue, table) => AzuriteProcess.StartAsync(dataFolder, blob, queue, table, TimeSpan.FromMinutes(3), cancellationToken));
        return new LocatedStorage(azurite.ConnectionString, azurite, message => error.MarkupLine($"[yellow]{Markup.Escape(message)}[/]"));
    }

    /// <summary>Starts on <paramref name="defaults"/> when given, else on ports 0 (Azurite binds free ones and says which).
    /// The default ports were free when checked, but another process (a second run starting at the same moment) can bind
    /// one before Azurite does: that start then falls back to free ports, as if they had been taken at the check.</summary>
    internal static async Task<T> DefaultsElseFreeAsync<T>(int[]? defaults, Func<int, int, int, Task<T>> start)
    {
        if (defaults is not null)
        {
            try
            {
                return await start(defaults[0], defaults[1], defaults[2]).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                // Taken since the check; free ports below.
            }
        }

        return await start(0, 0, 0).ConfigureAwait(false);
    }

    private static async Task<bool> AnswersAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(500));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>The storage connection and, when the CLI started it, the Azurite to stop at exit.</summary>
internal sealed record LocatedStorage(string ConnectionString, AzuriteProcess? StartedAzurite, Action<string>? Warn = null) : IAsyncDisposable
{
    /// <summary>Stops a started Azurite gracefully and waits for it, so that everything written is on disk before the
    /// CLI exits; says so when it had to be killed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (StartedAzurite is not null)
        {
            if (!await StartedAzurite.StopAsync())
            {
                Warn?.Invoke($"Azurite did not stop within {AzuriteProcess.GracefulStopTimeout.TotalSeconds:0} s and was killed: its latest writes may be lost.");
            }

            await StartedAzurite.DisposeAsync();
        }
    }
}
